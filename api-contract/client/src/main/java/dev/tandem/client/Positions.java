package dev.tandem.client;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import dev.tandem.protocol.Position;

/**
 * The last position seen per channel, for de-duplication and recovery. Thread-safe.
 *
 * <p>Within one epoch offsets only grow; a position in another epoch replaces the old one,
 * because the history of the old epoch is gone.
 */
final class Positions {
    private final ConcurrentMap<String, Position> last = new ConcurrentHashMap<>();

    /**
     * Records the position of an event; false when the event is a duplicate (its offset is
     * not beyond the last one seen in the same epoch) and must be dropped.
     */
    boolean accept(String channel, Position p) {
        return last.merge(channel, p, (old, now) -> sameEpoch(old, now) && now.offset() <= old.offset() ? old : now) == p;
    }

    /**
     * Records the channel's top position named by a subscribe reply. When the server
     * {@code recovered} from our position in the same epoch, the replayed events advance the
     * position themselves; otherwise whatever lies before the top is not coming and the
     * top becomes the position (never moving back within an epoch).
     */
    void top(String channel, Position top, boolean recovered) {
        last.merge(channel, top, (old, now) -> !sameEpoch(old, now) ? now
                : recovered || old.offset() >= now.offset() ? old : now);
    }

    /** The last position seen on a channel. */
    Optional<Position> get(String channel) {
        return Optional.ofNullable(last.get(channel));
    }

    /** Forgets a channel, e.g. after unsubscribing. */
    void forget(String channel) {
        last.remove(channel);
    }

    private static boolean sameEpoch(Position a, Position b) {
        return a.epoch().equals(b.epoch());
    }
}
