package dev.tandem.inbox;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Objects;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.hub.Publication;

/**
 * The inbox port: the durable publications of a user's {@code user:{id}} channel, kept per
 * user (not per connection) until the user acknowledges them or they are older than the TTL
 * (default 24 h), so any of the user's devices, on any node, gets them on its next connection.
 *
 * <p>Guarantees of every adapter (held by one conformance suite):
 * <ul>
 *   <li>{@link #pending} lists the unacknowledged, unexpired messages in the order they were
 *       appended (offset order within an epoch; older epochs first).</li>
 *   <li>{@link #append} is idempotent per position: a publication whose offset is not above the
 *       newest one appended in the same epoch is ignored.</li>
 *   <li>{@link #ack} is cumulative, like the {@code ack} frame: acknowledging offset N of the
 *       current epoch removes every pending message up to and including N, and every message of
 *       an earlier epoch (those were delivered before). Acknowledging again is harmless. An offset
 *       the inbox never reached is refused and changes nothing.</li>
 *   <li>Tenants and users are isolated: an inbox is identified by the user's channel key.</li>
 * </ul>
 *
 * <p>Appending is a separate step from publishing (the session or the REST API appends what it
 * published to a {@code user:} channel), so an inbox never holds an offset the channel did not issue.
 */
public interface Inbox extends AutoCloseable {
    /**
     * A lock to hold while publishing to a user channel and appending to its inbox, so appends
     * arrive in offset order (an inbox skips an offset below its newest). The memory adapter's
     * is local; the Redis adapter's is cluster-wide.
     */
    default java.util.concurrent.locks.Lock orderLock(ChannelKey userChannel) {
        return OrderLocks.local(userChannel);
    }

    /** The default time a message waits for its acknowledgement. */
    Duration DEFAULT_TTL = Duration.ofHours(24);
    /** The namespace whose channels are inboxes. */
    String NAMESPACE = "user";

    /**
     * Keeps a durable publication of a user channel until it is acknowledged or expires.
     *
     * @throws IllegalArgumentException when the channel is not a {@code user:} channel, the
     *         publication is ephemeral or belongs to another channel
     */
    void append(ChannelKey userChannel, Publication publication);

    /** The user's unacknowledged, unexpired messages, oldest first. */
    List<Publication> pending(String tenant, String user);

    /**
     * Acknowledges the user's messages up to and including {@code offset} of the current epoch.
     *
     * @throws dev.tandem.protocol.ProtocolException {@code BAD_REQUEST} for an offset below 1;
     *         {@code NOT_FOUND} for an offset the inbox never reached (ahead of its newest message,
     *         or no message for the user within the TTL); nothing changes then
     */
    AckResult ack(String tenant, String user, long offset);

    /** How many messages are pending for the user. */
    int depth(String tenant, String user);

    /** The epoch of the user channel's newest message the inbox holds or held; empty when unused. */
    Optional<String> epoch(String tenant, String user);

    /** How long a message waits for its acknowledgement. */
    Duration ttl();

    /** Releases resources (the adapters' clients belong to their callers). */
    @Override
    default void close() {
    }

    /** The inbox channel {@code user:{user}} of a tenant. */
    static ChannelKey channel(String tenant, String user) {
        return new ChannelKey(tenant, new ChannelName(NAMESPACE, List.of(user)));
    }

    /**
     * Checks the arguments of {@link #append} (shared by the adapters).
     *
     * @throws IllegalArgumentException as {@link #append} documents
     */
    static void checkAppend(ChannelKey userChannel, Publication publication) {
        Objects.requireNonNull(userChannel, "userChannel");
        Objects.requireNonNull(publication, "publication");
        if (!NAMESPACE.equals(userChannel.namespace()) || userChannel.name().segments().size() != 1) {
            throw new IllegalArgumentException(userChannel + " is not a user channel");
        }
        if (!publication.channel().equals(userChannel)) {
            throw new IllegalArgumentException("the publication belongs to " + publication.channel());
        }
        if (publication.position().isEmpty()) {
            throw new IllegalArgumentException("ephemeral publications are not kept in inboxes");
        }
    }
}
