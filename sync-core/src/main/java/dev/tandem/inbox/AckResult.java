package dev.tandem.inbox;

/**
 * The outcome of an acknowledgement.
 *
 * @param acknowledged how many pending messages this acknowledgement removed (0 when they were
 *                     acknowledged before: acknowledging is idempotent)
 * @param remaining    how many messages are still pending for the user
 */
public record AckResult(int acknowledged, int remaining) {
    /** Validates the fields. */
    public AckResult {
        if (acknowledged < 0 || remaining < 0) {
            throw new IllegalArgumentException("counts must not be negative");
        }
    }
}
