package dev.tandem.channel;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

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
 * @param batch         whether its publications wait a little to reach each subscriber together
 */
public record Namespace(String name, int segments, Access subscribe, Access publish, boolean ephemeralOnly,
                        boolean presence, boolean joinLeave, int historySize, Duration historyTtl,
                        Optional<Batch> batch) {
    /**
     * Batching of a hot namespace's publications, the user's choice (off by default): a
     * subscriber's frames of such channels are written at most {@code maxDelay} after the first
     * of them was queued, or as soon as {@code maxSize} of them wait, in one socket write. It
     * costs up to {@code maxDelay} of latency and saves a write (a system call) per frame.
     *
     * @param maxDelay how long a publication may wait for others, 1 ms to 1 s
     * @param maxSize  how many frames a batch holds before it is written without waiting, at least 1
     */
    public record Batch(Duration maxDelay, int maxSize) {
        /** Validates the fields. */
        public Batch {
            Objects.requireNonNull(maxDelay, "maxDelay");
            if (maxDelay.compareTo(Duration.ofMillis(1)) < 0 || maxDelay.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("batch-max-delay must be between 1 ms and 1 s, not " + maxDelay);
            }
            if (maxSize < 1) {
                throw new IllegalArgumentException("batch-max-size must be at least 1, not " + maxSize);
            }
        }
    }

    /** A namespace without batching. */
    public Namespace(String name, int segments, Access subscribe, Access publish, boolean ephemeralOnly,
                     boolean presence, boolean joinLeave, int historySize, Duration historyTtl) {
        this(name, segments, subscribe, publish, ephemeralOnly, presence, joinLeave, historySize, historyTtl,
                Optional.empty());
    }

    /** Validates the fields. */
    public Namespace {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(subscribe, "subscribe");
        Objects.requireNonNull(publish, "publish");
        Objects.requireNonNull(historyTtl, "historyTtl");
        Objects.requireNonNull(batch, "batch");
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
}
