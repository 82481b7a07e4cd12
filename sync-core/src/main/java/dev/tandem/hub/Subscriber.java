package dev.tandem.hub;

/**
 * Receives a channel's publications on this node, typically one connection's subscription.
 */
@FunctionalInterface
public interface Subscriber {
    /**
     * Delivers a publication. Called on the publisher's thread, in channel order, possibly while
     * the channel is locked: implementations must not block (queue the frame and return).
     *
     * @param publication the publication
     * @param frame       its {@code event} frame, encoded once for all subscribers
     */
    void deliver(Publication publication, Encoded frame);

    /**
     * Whether it takes payloads as Fossil deltas ({@link Encoded#forDelta}): the hub then keeps
     * its channel's last payload. Fixed for the subscriber's life.
     */
    default boolean delta() {
        return false;
    }
}
