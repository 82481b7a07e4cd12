package dev.tandem.session;

import java.util.concurrent.TimeUnit;

/**
 * Whether a connection's peer is still there: it counts as alive while it reads (pongs,
 * messages); a peer silent for longer than a heartbeat interval plus the heartbeat timeout is
 * gone. A ping from the peer does not count (a peer that pings without reading is not alive).
 */
final class Liveness {
    private final long allowedSilenceNanos;
    private volatile long lastHeardNanos;

    Liveness(SessionLimits limits, long nowNanos) {
        this.allowedSilenceNanos = limits.heartbeatInterval().plus(limits.heartbeatTimeout()).toNanos();
        this.lastHeardNanos = nowNanos;
    }

    /** The peer sent something. */
    void heard(long nowNanos) {
        lastHeardNanos = nowNanos;
    }

    /** How long the peer has been silent, in milliseconds. */
    long silentMillis(long nowNanos) {
        return TimeUnit.NANOSECONDS.toMillis(nowNanos - lastHeardNanos);
    }

    /** Whether the peer has been silent for longer than allowed. */
    boolean gone(long nowNanos) {
        return nowNanos - lastHeardNanos > allowedSilenceNanos;
    }
}
