/**
 * Connections as protocol state machines: the {@link dev.tandem.session.Engine} of a node, its
 * {@link dev.tandem.session.Session}s, limits, and the bounded outbound queue with one writer
 * per connection.
 */
package dev.tandem.session;
