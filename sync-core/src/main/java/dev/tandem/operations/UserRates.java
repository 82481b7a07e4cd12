package dev.tandem.operations;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.tandem.auth.Principal;

/**
 * Token buckets per user (tenant and user id), charged per document operation whatever the
 * transport, so one user's many sockets or REST calls share one budget. Memory follows the
 * active users: buckets that are full again (idle for a while) are dropped now and then.
 */
public final class UserRates {
    private static final int SWEEP_EVERY = 4096;
    private static final int SWEEP_ABOVE = 10_000;

    private final double ratePerNano;
    private final double burst;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final AtomicInteger calls = new AtomicInteger();

    /** Buckets of {@code perSecond} tokens per second, holding {@code burst} at most. */
    public UserRates(int perSecond, int burst) {
        this.ratePerNano = perSecond / 1e9;
        this.burst = burst;
    }

    /** Takes {@code n} tokens for the user, all or none. */
    public boolean tryAcquire(Principal who, int n) {
        long now = System.nanoTime();
        if (calls.incrementAndGet() % SWEEP_EVERY == 0 && buckets.size() > SWEEP_ABOVE) {
            sweep(now);
        }
        Bucket b = buckets.computeIfAbsent(who.tenant() + "/" + who.user(), k -> new Bucket(burst, now));
        synchronized (b) {
            b.refill(now, ratePerNano, burst);
            if (b.tokens >= n) {
                b.tokens -= n;
                return true;
            }
            return false;
        }
    }

    /** How many users have a bucket (tests). */
    int size() {
        return buckets.size();
    }

    private void sweep(long now) {
        for (Iterator<Bucket> it = buckets.values().iterator(); it.hasNext(); ) {
            Bucket b = it.next();
            // a few instructions under the bucket's monitor: waiting for a charge in progress is
            // as cheap as skipping the bucket was
            synchronized (b) {
                b.refill(now, ratePerNano, burst);
                if (b.tokens >= burst) {
                    it.remove();
                }
            }
        }
    }

    /** A user's bucket, guarded by its own monitor (no lock object per user). */
    private static final class Bucket {
        private double tokens;
        private long last;

        private Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.last = now;
        }

        private void refill(long now, double ratePerNano, double burst) {
            long elapsed = now - last;
            if (elapsed > 0) {
                tokens = Math.min(burst, tokens + elapsed * ratePerNano);
                last = now;
            }
        }
    }
}
