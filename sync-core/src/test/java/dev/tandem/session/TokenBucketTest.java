package dev.tandem.session;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenBucketTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 42 * SECOND;

    @Test
    void allowsTheBurstAtOnceThenRefuses() {
        TokenBucket bucket = new TokenBucket(10, 5, T0);
        for (int i = 0; i < 5; i++) {
            assertTrue(bucket.tryAcquire(T0), "message " + (i + 1) + " of the burst");
        }
        assertFalse(bucket.tryAcquire(T0));
    }

    @Test
    void refillsAtTheRate() {
        TokenBucket bucket = new TokenBucket(10, 5, T0);
        for (int i = 0; i < 5; i++) {
            bucket.tryAcquire(T0);
        }
        long tenth = SECOND / 10;
        assertFalse(bucket.tryAcquire(T0 + tenth - 1_000), "not quite one token yet");
        assertTrue(bucket.tryAcquire(T0 + tenth));
        assertFalse(bucket.tryAcquire(T0 + tenth));
        // half a second later: five tokens
        long t = T0 + tenth + SECOND / 2;
        for (int i = 0; i < 5; i++) {
            assertTrue(bucket.tryAcquire(t));
        }
        assertFalse(bucket.tryAcquire(t));
    }

    @Test
    void neverHoldsMoreThanTheBurst() {
        TokenBucket bucket = new TokenBucket(10, 3, T0);
        long later = T0 + 3600 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertTrue(bucket.tryAcquire(later));
        }
        assertFalse(bucket.tryAcquire(later), "an idle hour does not buy more than the burst");
    }

    @Test
    void sustainsExactlyTheRateOverTime() {
        TokenBucket bucket = new TokenBucket(50, 1, T0);
        int accepted = 0;
        for (long ms = 0; ms < 10_000; ms++) { // one attempt per millisecond for 10 s
            if (bucket.tryAcquire(T0 + ms * 1_000_000)) {
                accepted++;
            }
        }
        assertTrue(accepted >= 500 && accepted <= 501, "accepted " + accepted);
    }

    @Test
    void aClockGoingBackwardsGrantsNothing() {
        TokenBucket bucket = new TokenBucket(10, 1, T0);
        assertTrue(bucket.tryAcquire(T0));
        assertFalse(bucket.tryAcquire(T0 - 10 * SECOND));
        assertFalse(bucket.tryAcquire(T0 + SECOND / 20), "time before the last refill is not counted twice");
        assertTrue(bucket.tryAcquire(T0 + SECOND / 10));
    }
}
