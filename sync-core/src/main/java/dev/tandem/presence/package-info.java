/**
 * Presence ({@link dev.tandem.presence.PresenceStore}): who is on a channel, with how many
 * connections, what small state and when last seen; entries expire unless heartbeats refresh
 * them. And the in-memory adapter.
 */
package dev.tandem.presence;
