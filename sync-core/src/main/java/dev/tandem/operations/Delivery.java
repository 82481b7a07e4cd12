package dev.tandem.operations;

import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;

/**
 * Where a connection's {@link Subscriptions} hand its publications: the connection's outbound
 * queue, which the connection runtime implements. Implementations only queue (they are called on
 * publishers' threads, possibly under a channel's lock) and keep the order of the calls.
 */
public interface Delivery {

    /**
     * A live publication.
     *
     * @param frame its {@code event} frame, encoded once for all subscribers
     * @return false when the connection's queue is full (then {@link #overflowed()} is called)
     */
    boolean live(Publication publication, Encoded frame);

    /**
     * A publication replayed on subscribe (inbox or recovery), to be encoded by the transport.
     *
     * @return false when the connection's queue is full
     */
    boolean replay(Publication publication);

    /** The queue is full: the transport ends the connection as a slow consumer. */
    void overflowed();

    /** Something the client should know that answers no request, e.g. a subscription taken away. */
    void notice(Result.Failed notice);
}
