/**
 * The WebSocket protocol of a connection: the {@link dev.tandem.session.Engine} holding a node's
 * {@link dev.tandem.session.Session}s, which turn frames into calls on the operations layer;
 * connection limits and rate limits, and the bounded outbound queue with one writer per
 * connection.
 */
package dev.tandem.session;
