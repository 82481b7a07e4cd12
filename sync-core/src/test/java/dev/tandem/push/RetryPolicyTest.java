package dev.tandem.push;

import java.time.Duration;
import java.util.Optional;
import java.util.Random;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backoff doubles within jitter, honours Retry-After up to its cap, and stops after the last attempt. */
class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(5, Duration.ofSeconds(4), Duration.ofSeconds(30), Duration.ofMinutes(10));
    private final PushOutcome.RetryLater noHint = new PushOutcome.RetryLater(503, Optional.empty(), "x");

    @Test
    void theBackoffDoublesUpToItsCeilingWithJitterInTheUpperHalf() {
        Random random = new Random(7);
        long[] ceilings = {4_000, 8_000, 16_000, 30_000};
        for (int attempt = 1; attempt <= 4; attempt++) {
            for (int i = 0; i < 50; i++) {
                long ms = policy.nextDelay(attempt, noHint, random).orElseThrow().toMillis();
                long ceiling = ceilings[attempt - 1];
                assertTrue(ms >= ceiling / 2 && ms <= ceiling, "attempt " + attempt + ": " + ms);
            }
        }
    }

    @Test
    void retryAfterIsHonouredUpToItsCap() {
        Random random = new Random(1);
        var soon = new PushOutcome.RetryLater(429, Optional.of(Duration.ofMinutes(2)), "x");
        assertEquals(Duration.ofMinutes(2), policy.nextDelay(1, soon, random).orElseThrow());
        var never = new PushOutcome.RetryLater(429, Optional.of(Duration.ofDays(3)), "x");
        assertEquals(Duration.ofMinutes(10), policy.nextDelay(1, never, random).orElseThrow());
        var tiny = new PushOutcome.RetryLater(429, Optional.of(Duration.ofMillis(1)), "x");
        assertTrue(policy.nextDelay(1, tiny, random).orElseThrow().toMillis() >= 2_000, "never sooner than the backoff");
    }

    @Test
    void noDelayAfterTheLastAttempt() {
        assertEquals(Optional.empty(), policy.nextDelay(5, noHint, new Random()));
        assertTrue(policy.nextDelay(4, noHint, new Random()).isPresent());
    }

    @Test
    void nonsenseIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(0, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(3, Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new RetryPolicy(3, Duration.ZERO, Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
