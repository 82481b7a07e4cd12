package dev.tandem.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The timer that ends a connection when its token expires. A far expiry (tokens may name any
 * time up to year 9999) is waited for in steps of at most a year, so no delay overflows; every
 * {@code refresh} replaces the timer.
 */
final class TokenExpiry {
    /** The longest single wait: an expiry beyond it is checked again when it fires. */
    private static final Duration MAX_WAIT = Duration.ofDays(365);

    private final ScheduledExecutorService scheduler;
    private final Clock clock;
    private final Runnable expired;
    private volatile ScheduledFuture<?> timer;
    private volatile Object current;

    /**
     * @param expired run once when the token in force has expired
     */
    TokenExpiry(ScheduledExecutorService scheduler, Clock clock, Runnable expired) {
        this.scheduler = scheduler;
        this.clock = clock;
        this.expired = expired;
    }

    /** Starts waiting for the expiry of the token now in force (none: nothing to wait for). */
    void watch(Optional<Instant> expiresAt) {
        Object token = new Object();
        current = token;
        cancel();
        expiresAt.ifPresent(at -> schedule(token, at));
    }

    private void schedule(Object token, Instant at) {
        timer = scheduler.schedule(() -> {
            if (current != token) {
                return;
            }
            long left = millisUntil(at);
            if (left > 0) {
                schedule(token, at);
            } else {
                expired.run();
            }
        }, millisUntil(at), TimeUnit.MILLISECONDS);
    }

    /** Milliseconds until an instant, at most {@link #MAX_WAIT}, 0 when past. */
    private long millisUntil(Instant at) {
        Duration d = Duration.between(clock.instant(), at);
        if (d.isNegative()) {
            return 0;
        }
        return d.compareTo(MAX_WAIT) > 0 ? MAX_WAIT.toMillis() : d.toMillis();
    }

    void cancel() {
        ScheduledFuture<?> t = timer;
        if (t != null) {
            t.cancel(false);
        }
    }
}
