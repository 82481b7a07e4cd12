package dev.tandem.presence;

import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;

/**
 * The presence port: per channel, which users are there with how many connections (tabs,
 * devices), their small state and when they were last seen.
 *
 * <p>Guarantees of every adapter (held by one conformance suite):
 * <ul>
 *   <li>Join and leave are per user, not per connection: {@link #join} answers true only for the
 *       user's first live connection on the channel, {@link #leave} true only for the last, so a
 *       second tab sends no second join event and closing one of two tabs no leave event.</li>
 *   <li>A connection stays present for the TTL ({@link PresenceLimits#ttl()}) after its join or
 *       last {@link #heartbeat}; after that it is gone from {@link #members} by itself, so a node
 *       that dies takes its users offline within the TTL. {@link #expire} then removes such users
 *       and reports each exactly once (even with several nodes calling it), for leave events.</li>
 *   <li>A state larger than {@link PresenceLimits#maxStateBytes()} is refused with
 *       {@code TOO_LARGE} and changes nothing.</li>
 *   <li>Channels (and so tenants, since channel keys are tenant-scoped) are isolated.</li>
 * </ul>
 */
public interface PresenceStore extends AutoCloseable {

    /**
     * Adds a connection of a user to the channel's presence, or refreshes it if present.
     *
     * @param state when present, replaces the user's state
     * @return true when it is the user's first live connection on the channel (send a join event)
     * @throws dev.tandem.protocol.ProtocolException {@code TOO_LARGE} for an oversize state
     */
    boolean join(ChannelKey channel, String user, String connectionId, Optional<JsonNode> state);

    /**
     * Removes a connection.
     *
     * @return true when it was the user's last connection on the channel (send a leave event);
     *         false for another tab's leave or a connection not present (already expired and reported)
     */
    boolean leave(ChannelKey channel, String user, String connectionId);

    /**
     * Refreshes a live connection's TTL and the user's last-seen time.
     *
     * @return false when the connection is not present (it expired): the caller should join again
     */
    boolean heartbeat(ChannelKey channel, String user, String connectionId);

    /**
     * Replaces the state of a user through one of its live connections.
     *
     * @return the member afterwards
     * @throws dev.tandem.protocol.ProtocolException {@code TOO_LARGE} for an oversize state,
     *         {@code NOT_FOUND} when the connection is not present; nothing changes then
     */
    Member setState(ChannelKey channel, String user, String connectionId, JsonNode state);

    /** The users with at least one live connection, ordered by user id. */
    List<Member> members(ChannelKey channel);

    /**
     * Removes users whose connections all expired.
     *
     * @return those users, each reported once across all callers (send leave events for them)
     */
    List<String> expire(ChannelKey channel);

    /** The TTL and state limit of this store. */
    PresenceLimits limits();

    /** Releases resources (the adapters' clients belong to their callers). */
    @Override
    default void close() {
    }
}
