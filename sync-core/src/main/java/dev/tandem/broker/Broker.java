package dev.tandem.broker;

import java.util.Optional;
import java.util.function.Consumer;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.Position;

/**
 * The publication port: gives durable publications their channel offset within the channel's
 * epoch, keeps a bounded history, and delivers every publication to the subscribers of every
 * node, in offset order per channel.
 *
 * <p>Appending to the history and broadcasting are one step of the port (not two ports) because
 * only together can they keep offsets in delivery order when several nodes publish to the same
 * channel. Implementations: {@link MemoryBroker} (one node, standalone) and the Redis broker of
 * the queue module (cluster). Both pass the same conformance suite.
 *
 * <p>Guarantees: offsets are gap-free and increasing within an epoch; a subscriber sees each
 * durable publication at most once per subscription and in offset order; history is bounded by
 * the namespace's size and TTL; a durable draft carrying its source's event id that the channel
 * saw among its recent publications (at least the channel's history window: history-size
 * publications within history-ttl, or 100 for a namespace without history; the Redis broker
 * keeps 1,000) is not published again: its earlier position is returned, so redelivered events
 * keep one offset.
 */
public interface Broker extends AutoCloseable {

    /**
     * A new epoch: 48 random bits in 8 base64url characters (every event frame carries it, so
     * it is kept short; 48 bits keep a channel's successive epochs apart).
     */
    static String newEpoch(java.util.random.RandomGenerator random) {
        byte[] b = new byte[6];
        random.nextBytes(b);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * Accepts a publication and delivers it to subscribers.
     *
     * @return the accepted publication (with its position if durable)
     */
    Publication publish(ChannelKey channel, Draft draft);

    /**
     * Subscribes, optionally resuming after a position.
     *
     * <p>{@code beforeLive} is called exactly once with the recovery, before any live
     * publication reaches {@code subscriber}, so a session can queue its reply and the missed
     * publications ahead of live ones with no gap and no duplicate. It must not block.
     *
     * @throws dev.tandem.protocol.ProtocolException {@code BAD_REQUEST} when {@code since} lies
     *         in the channel's future (an offset never issued in the current epoch)
     */
    Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                       Consumer<Recovery> beforeLive);

    /** Stops delivering to the subscriber. Unknown subscribers are ignored. */
    void unsubscribe(ChannelKey channel, Subscriber subscriber);

    /** The channel's newest position. */
    Position top(ChannelKey channel);

    /**
     * Whether publications currently reach this node's subscribers. False while a cross-node
     * delivery path is broken (for example a lost Redis pub/sub connection that is being
     * re-established): publishes may still be accepted then, but local subscribers would miss
     * them until the broker has resubscribed and recovered. Readiness reports it.
     */
    default boolean delivering() {
        return true;
    }

    /** Releases resources. */
    @Override
    void close();
}
