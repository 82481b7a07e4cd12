package dev.tandem.session;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long T0 = 42 * SECOND;
    /** Strikes never close in these tests unless they say so. */
    private static final int NEVER = Integer.MAX_VALUE;

    private static Admission admission(int perSecond, int burst, int floodStrikes, int ephemeralPerSecond) {
        Duration s = Duration.ofSeconds(10);
        return new Admission(new SessionLimits(65536, perSecond, burst, floodStrikes, 128, 4096, 1 << 20, s, s, s, s,
                ephemeralPerSecond), T0);
    }

    private static Admission bucket(int perSecond, int burst) {
        return admission(perSecond, burst, NEVER, 10);
    }

    private static boolean tryAcquire(Admission a, long now) {
        return a.admit(now) == Admission.Verdict.ADMIT;
    }

    @Test
    void allowsTheBurstAtOnceThenRefuses() {
        Admission bucket = bucket(10, 5);
        for (int i = 0; i < 5; i++) {
            assertTrue(tryAcquire(bucket, T0), "message " + (i + 1) + " of the burst");
        }
        assertFalse(tryAcquire(bucket, T0));
    }

    @Test
    void refillsAtTheRate() {
        Admission bucket = bucket(10, 5);
        for (int i = 0; i < 5; i++) {
            tryAcquire(bucket, T0);
        }
        long tenth = SECOND / 10;
        assertFalse(tryAcquire(bucket, T0 + tenth - 1_000), "not quite one token yet");
        assertTrue(tryAcquire(bucket, T0 + tenth));
        assertFalse(tryAcquire(bucket, T0 + tenth));
        // half a second later: five tokens
        long t = T0 + tenth + SECOND / 2;
        for (int i = 0; i < 5; i++) {
            assertTrue(tryAcquire(bucket, t));
        }
        assertFalse(tryAcquire(bucket, t));
    }

    @Test
    void neverHoldsMoreThanTheBurst() {
        Admission bucket = bucket(10, 3);
        long later = T0 + 3600 * SECOND;
        for (int i = 0; i < 3; i++) {
            assertTrue(tryAcquire(bucket, later));
        }
        assertFalse(tryAcquire(bucket, later), "an idle hour does not buy more than the burst");
    }

    @Test
    void sustainsExactlyTheRateOverTime() {
        Admission bucket = bucket(50, 1);
        int accepted = 0;
        for (long ms = 0; ms < 10_000; ms++) { // one attempt per millisecond for 10 s
            if (tryAcquire(bucket, T0 + ms * 1_000_000)) {
                accepted++;
            }
        }
        assertTrue(accepted >= 500 && accepted <= 501, "accepted " + accepted);
    }

    @Test
    void aClockGoingBackwardsGrantsNothing() {
        Admission bucket = bucket(10, 1);
        assertTrue(tryAcquire(bucket, T0));
        assertFalse(tryAcquire(bucket, T0 - 10 * SECOND));
        assertFalse(tryAcquire(bucket, T0 + SECOND / 20), "time before the last refill is not counted twice");
        assertTrue(tryAcquire(bucket, T0 + SECOND / 10));
    }

    @Test
    void refusalsInARowAreFirstThenRepeatedThenClose() {
        Admission a = admission(10, 1, 3, 10);
        assertEquals(Admission.Verdict.ADMIT, a.admit(T0));
        assertEquals(Admission.Verdict.REFUSE_FIRST, a.admit(T0));
        assertEquals(Admission.Verdict.REFUSE, a.admit(T0));
        assertEquals(Admission.Verdict.CLOSE, a.admit(T0));
    }

    @Test
    void anAdmittedMessageEndsTheRunOfStrikes() {
        Admission a = admission(10, 1, 3, 10);
        a.admit(T0);
        assertEquals(Admission.Verdict.REFUSE_FIRST, a.admit(T0));
        assertEquals(Admission.Verdict.ADMIT, a.admit(T0 + SECOND / 10));
        assertEquals(Admission.Verdict.REFUSE_FIRST, a.admit(T0 + SECOND / 10));
    }

    @Test
    void ephemeralSignalsHaveTheirOwnBucketOfOneSecondsWorth() {
        Admission a = admission(10, 100, NEVER, 4);
        for (int i = 0; i < 4; i++) {
            assertTrue(a.ephemeral(T0), "signal " + (i + 1));
        }
        assertFalse(a.ephemeral(T0));
        assertTrue(tryAcquire(a, T0), "the message bucket is untouched");
        assertFalse(a.ephemeral(T0 + SECOND / 4 - 1_000));
        assertTrue(a.ephemeral(T0 + SECOND / 4));
    }
}
