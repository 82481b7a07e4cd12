package dev.tandem.channel;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * The rules of one channel namespace, from configuration under
 * {@code tandem.channels.namespaces.NAME} (defaults in {@link ChannelRules}).
 *
 * @param name          the namespace, e.g. {@code location}
 * @param segments      how many id segments its channel names have ({@code tenant}: 0,
 *                      {@code doc}: 2, others 1)
 * @param subscribe     who may subscribe
 * @param publish       who may publish from a client connection
 * @param ephemeralOnly whether client publications must be ephemeral (typing, cursor)
 * @param presence      whether presence is kept for its channels
 * @param joinLeave     whether join/leave events are sent to subscribers
 * @param historySize   how many durable publications each channel keeps for recovery
 * @param historyTtl    how long a publication stays in history
 * @param delta         the delta formats its subscriptions may ask for (only {@value #FOSSIL})
 */
public record Namespace(String name, int segments, Access subscribe, Access publish, boolean ephemeralOnly,
                        boolean presence, boolean joinLeave, int historySize, Duration historyTtl,
                        Set<String> delta) {
    /** The delta format there is: Fossil deltas of the payload's JSON text. */
    public static final String FOSSIL = "fossil";

    /** Validates the fields. */
    public Namespace {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(subscribe, "subscribe");
        Objects.requireNonNull(publish, "publish");
        Objects.requireNonNull(historyTtl, "historyTtl");
        delta = Set.copyOf(Objects.requireNonNull(delta, "delta"));
        for (String format : delta) {
            if (!format.equals(FOSSIL)) {
                throw new IllegalArgumentException("namespace " + name + ": unknown delta format '" + format
                        + "' (there is " + FOSSIL + ")");
            }
        }
        if (segments < 0 || segments > 4) {
            throw new IllegalArgumentException("namespace " + name + ": segments must be 0..4");
        }
        if (historySize < 0) {
            throw new IllegalArgumentException("namespace " + name + ": history-size must be >= 0");
        }
        if (historyTtl.isNegative()) {
            throw new IllegalArgumentException("namespace " + name + ": history-ttl must not be negative");
        }
    }

    /** A namespace without deltas. */
    public Namespace(String name, int segments, Access subscribe, Access publish, boolean ephemeralOnly,
                     boolean presence, boolean joinLeave, int historySize, Duration historyTtl) {
        this(name, segments, subscribe, publish, ephemeralOnly, presence, joinLeave, historySize, historyTtl, Set.of());
    }

    /** Whether its subscriptions may ask for deltas in {@code format}. */
    public boolean allowsDelta(String format) {
        return delta.contains(format);
    }
}
