package dev.tandem.telemetry;

import dev.tandem.protocol.ErrorCode;

/**
 * What the engine reports about itself, for metrics. The gateway implements it on Helidon
 * metrics; tests and embedders may use {@link #NOOP}. Implementations must be cheap and
 * non-blocking: they are called on the hot path.
 */
public interface Telemetry {
    /** Reports nothing. */
    Telemetry NOOP = new Telemetry() {
    };

    /** A connection was accepted (before authentication). */
    default void connectionOpened() {
    }

    /** A connection ended; {@code closeCode} is the WebSocket close code when known, else 0. */
    default void connectionClosed(int closeCode) {
    }

    /** A client frame with this {@code op} was received and decoded. */
    default void frameIn(String op) {
    }

    /** A server frame with this {@code op} was written to a socket. */
    default void frameOut(String op) {
    }

    /** A publication was accepted on a channel of {@code namespace}. */
    default void published(String namespace, boolean ephemeral) {
    }

    /** A publication was fanned out to {@code subscribers} local subscribers. */
    default void fannedOut(int subscribers) {
    }

    /** A publication reached a socket {@code nanos} after it was accepted. */
    default void delivered(long nanos) {
    }

    /**
     * {@code count} server frames of {@code op} were written in one write (the writer counts a
     * batch at once, not frame by frame).
     */
    default void framesOut(String op, int count) {
        for (int i = 0; i < count; i++) {
            frameOut(op);
        }
    }

    /**
     * {@code count} publications reached a socket in one write; {@code sampleNanos} is the time
     * since the oldest of them was accepted. Latency is recorded once per write, not per
     * delivery: a histogram update per subscriber and publication costs more than the write.
     */
    default void delivered(int count, long sampleNanos) {
        delivered(sampleNanos);
    }

    /** A connection was closed because it read too slowly. */
    default void slowConsumerClosed() {
    }

    /** An error with this code was answered. */
    default void error(ErrorCode code) {
    }

    /** A user's inbox held {@code depth} unacknowledged messages when one of its devices subscribed. */
    default void inboxDepth(int depth) {
    }

    /**
     * A backend hook or webhook call ended.
     *
     * @param hook    its name ({@code connect}, {@code subscribe}, {@code publish},
     *                {@code document-write}, {@code webhook})
     * @param outcome {@code allow}, {@code refuse}, {@code ok} or {@code failure} (no answer)
     * @param nanos   how long it took
     */
    default void hookCall(String hook, String outcome, long nanos) {
    }

    /**
     * A concurrent change was settled by a strategy ({@code last-write-wins}, {@code server-wins},
     * {@code client-wins}, {@code merge}, {@code manual} …).
     */
    default void conflict(String strategy) {
    }

    /** A connection of the tenant was authenticated ({@code +1}) or ended ({@code -1}). */
    default void tenantConnections(String tenant, int delta) {
    }

    /** A client message of the tenant was received. */
    default void tenantMessage(String tenant) {
    }
}
