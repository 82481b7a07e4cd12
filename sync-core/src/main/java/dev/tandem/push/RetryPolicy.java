package dev.tandem.push;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * When to try a notification again after {@link PushOutcome.RetryLater}: exponential backoff with
 * jitter, never sooner than the service's {@code Retry-After} (itself capped, so a service cannot
 * park a notification for days), and not at all once {@code maxAttempts} sends were made.
 *
 * @param maxAttempts   sends at most, the first included
 * @param firstDelay    the delay after the first failed send
 * @param maxDelay      the backoff's ceiling
 * @param maxRetryAfter the longest {@code Retry-After} honoured as given
 */
public record RetryPolicy(int maxAttempts, Duration firstDelay, Duration maxDelay, Duration maxRetryAfter) {
    /** The defaults: 8 sends, 5 s doubling up to 15 min, {@code Retry-After} honoured up to 1 h. */
    public static final RetryPolicy DEFAULT = new RetryPolicy(8, Duration.ofSeconds(5), Duration.ofMinutes(15),
            Duration.ofHours(1));

    /** Checks the fields. */
    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("tandem.push.retry.max-attempts must be at least 1, was " + maxAttempts);
        }
        positive(firstDelay, "first-delay");
        positive(maxDelay, "max-delay");
        positive(maxRetryAfter, "max-retry-after");
        if (maxDelay.compareTo(firstDelay) < 0) {
            throw new IllegalArgumentException("tandem.push.retry.max-delay must not be shorter than first-delay");
        }
    }

    /**
     * The delay before the next send.
     *
     * @param attemptsMade sends made so far (1 after the first)
     * @param outcome      what the last send answered
     * @param random       the jitter's source
     * @return the delay, or empty when no send is left
     */
    public Optional<Duration> nextDelay(int attemptsMade, PushOutcome.RetryLater outcome, RandomGenerator random) {
        Objects.requireNonNull(outcome, "outcome");
        if (attemptsMade >= maxAttempts) {
            return Optional.empty();
        }
        // the backoff doubles per attempt up to maxDelay; the jitter takes the upper half of it,
        // so nodes retrying together spread out without ever waiting less than half the backoff
        long ceiling = firstDelay.toMillis();
        for (int i = 1; i < attemptsMade && ceiling < maxDelay.toMillis(); i++) {
            ceiling *= 2;
        }
        ceiling = Math.min(ceiling, maxDelay.toMillis());
        long backoff = ceiling / 2 + random.nextLong(ceiling / 2 + 1);
        long asked = outcome.retryAfter().map(d -> Math.min(d.toMillis(), maxRetryAfter.toMillis())).orElse(0L);
        return Optional.of(Duration.ofMillis(Math.max(backoff, asked)));
    }

    private static void positive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("tandem.push.retry." + name + " must be positive");
        }
    }
}
