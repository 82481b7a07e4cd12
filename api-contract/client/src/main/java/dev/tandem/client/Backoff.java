package dev.tandem.client;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How {@link TandemClient} waits between reconnect attempts: exponential growth from
 * {@code initial} by {@code multiplier}, capped at {@code max}, with a random part.
 *
 * <p>The delay before retry {@code n} (1-based) is {@code base = min(max, initial * multiplier^(n-1))}
 * reduced by a random fraction of at most {@code jitter}, so it lies in
 * {@code [base * (1 - jitter), base]}; {@code jitter = 1} is "full jitter". Instances are
 * immutable.
 *
 * @param initial     the base delay before the first retry, not negative
 * @param max         the cap on the base delay, at least {@code initial} and at most a day
 * @param multiplier  the growth factor per retry, at least 1
 * @param jitter      the largest fraction taken off at random, between 0 and 1
 * @param maxAttempts how many retries in a row are made before giving up, not negative
 */
public record Backoff(Duration initial, Duration max, double multiplier, double jitter, int maxAttempts) {
    private static final Backoff DEFAULTS = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), 2, 1);
    private static final Backoff NONE = new Backoff(Duration.ZERO, Duration.ZERO, 1, 0, 0);

    /** Validates the fields. */
    public Backoff {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(max, "max");
        if (initial.isNegative() || max.compareTo(initial) < 0 || max.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("need 0 <= initial <= max <= 1 day");
        }
        if (!(multiplier >= 1) || Double.isInfinite(multiplier)) {
            throw new IllegalArgumentException("multiplier must be a finite number >= 1");
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new IllegalArgumentException("jitter must be between 0 and 1");
        }
        if (maxAttempts < 0) {
            throw new IllegalArgumentException("maxAttempts must not be negative");
        }
    }

    /** A backoff that retries without limit. */
    public Backoff(Duration initial, Duration max, double multiplier, double jitter) {
        this(initial, max, multiplier, jitter, Integer.MAX_VALUE);
    }

    /** 200 ms growing ×2 up to 10 s, full jitter, no limit on attempts. */
    public static Backoff defaults() {
        return DEFAULTS;
    }

    /** Never reconnects. */
    public static Backoff none() {
        return NONE;
    }

    /**
     * The delay before retry number {@code attempt} (1 for the first retry after a loss), or
     * empty when no retry should be made.
     *
     * @throws IllegalArgumentException if {@code attempt < 1}
     */
    public Optional<Duration> delay(int attempt) {
        return delay(attempt, ThreadLocalRandom.current().nextDouble());
    }

    /** {@link #delay(int)} with the random number in {@code [0, 1)} given, for tests. */
    Optional<Duration> delay(int attempt, double random) {
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt must be at least 1");
        }
        if (attempt > maxAttempts) {
            return Optional.empty();
        }
        double base = Math.min(max.toNanos(), initial.toNanos() * Math.pow(multiplier, attempt - 1.0));
        return Optional.of(Duration.ofNanos((long) (base * (1 - jitter * random))));
    }
}
