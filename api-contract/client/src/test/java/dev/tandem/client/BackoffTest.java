package dev.tandem.client;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackoffTest {
    private static final Backoff NO_JITTER = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), 2, 0);

    private static long millis(Backoff b, int attempt, double random) {
        return b.delay(attempt, random).orElseThrow().toMillis();
    }

    @Test
    void delaysGrowExponentiallyFromTheInitialDelay() {
        assertEquals(200, millis(NO_JITTER, 1, 0.5));
        assertEquals(400, millis(NO_JITTER, 2, 0.5));
        assertEquals(800, millis(NO_JITTER, 3, 0.5));
        assertEquals(6400, millis(NO_JITTER, 6, 0.5));
    }

    @Test
    void delaysAreCappedAtTheMaximumEvenForHugeAttemptNumbers() {
        assertEquals(10_000, millis(NO_JITTER, 7, 0));
        assertEquals(10_000, millis(NO_JITTER, 1_000, 0));
        assertEquals(10_000, millis(NO_JITTER, Integer.MAX_VALUE, 0));
    }

    @Test
    void jitterTakesOffAtMostItsFractionOfTheBaseDelay() {
        Backoff quarter = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(8), 2, 0.25);
        assertEquals(2000, millis(quarter, 2, 0));
        assertEquals(1500, millis(quarter, 2, 1));
        for (int attempt = 1; attempt <= 10; attempt++) {
            long base = Math.min(8000, 1000L << (attempt - 1));
            for (int i = 0; i < 1000; i++) {
                long d = quarter.delay(attempt).orElseThrow().toMillis();
                assertTrue(d >= base * 3 / 4 && d <= base, "attempt " + attempt + ": " + d + " outside [0.75, 1] x " + base);
            }
        }
    }

    @Test
    void defaultsUseFullJitterBetweenZeroAndTheCappedBase() {
        Backoff d = Backoff.defaults();
        assertEquals(Duration.ofMillis(200), d.initial());
        assertEquals(Duration.ofSeconds(10), d.max());
        assertEquals(2.0, d.multiplier());
        assertEquals(1.0, d.jitter());
        assertEquals(0, millis(d, 3, 1));
        assertEquals(800, millis(d, 3, 0));
        for (int i = 0; i < 1000; i++) {
            long ms = d.delay(30).orElseThrow().toMillis();
            assertTrue(ms >= 0 && ms <= 10_000, ms + " outside [0, 10 s]");
        }
    }

    @Test
    void noneNeverRetries() {
        assertEquals(Optional.empty(), Backoff.none().delay(1));
        assertEquals(Optional.empty(), Backoff.none().delay(Integer.MAX_VALUE));
    }

    @Test
    void maxAttemptsStopsRetryingAfterThatManyAttempts() {
        Backoff three = new Backoff(Duration.ofMillis(10), Duration.ofMillis(100), 2, 0, 3);
        assertTrue(three.delay(3).isPresent());
        assertEquals(Optional.empty(), three.delay(4));
    }

    @Test
    void invalidSettingsAreRefused() {
        Duration s = Duration.ofSeconds(1);
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s.negated(), s, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, Duration.ofMillis(500), 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, Duration.ofDays(2), 2, 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, s, 0.5, 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, s, Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, s, 2, 1.5));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(s, s, 2, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> NO_JITTER.delay(0));
    }
}
