package dev.tandem.session;

/**
 * A connection's inbound rate limits: every message (and ping) is charged against a token
 * bucket of {@code messages-per-second} with a {@code burst}; typing and cursor signals also
 * against their own bucket of {@code ephemeral-per-second} (burst: one second's worth). Refused
 * messages count as strikes; {@code flood-strikes} in a row mean the peer ignores
 * {@code rate_limited} and the connection is closed. One per connection, used by its reading
 * thread (not thread-safe).
 *
 * <p>The two buckets are fields of this object rather than objects of their own: there is one
 * per connection, and every object costs a header and a reference.
 */
final class Admission {
    /** What to do with an inbound message. */
    enum Verdict {
        /** Handle it. */
        ADMIT,
        /** Refuse it: the first refusal of a run (answered even without an id). */
        REFUSE_FIRST,
        /** Refuse it again (answered only when it has an id, so a flood is not amplified). */
        REFUSE,
        /** Refuse it and close the connection: it keeps flooding. */
        CLOSE
    }

    /** Shared by every connection: the rates and bursts. */
    private final SessionLimits limits;
    private double messageTokens;
    private long messageRefilled;
    private double ephemeralTokens;
    private long ephemeralRefilled;
    private int strikes;

    Admission(SessionLimits limits, long nowNanos) {
        this.limits = limits;
        this.messageTokens = limits.burst();
        this.messageRefilled = nowNanos;
        this.ephemeralTokens = limits.ephemeralPerSecond();
        this.ephemeralRefilled = nowNanos;
    }

    /** Charges one message. */
    Verdict admit(long nowNanos) {
        long elapsed = nowNanos - messageRefilled;
        if (elapsed > 0) {
            // a clock going backwards (elapsed <= 0) grants nothing and keeps the last refill time
            messageTokens = refilled(messageTokens, elapsed, limits.messagesPerSecond(), limits.burst());
            messageRefilled = nowNanos;
        }
        if (messageTokens >= 1) {
            messageTokens -= 1;
            strikes = 0;
            return Verdict.ADMIT;
        }
        strikes++;
        if (strikes >= limits.floodStrikes()) {
            return Verdict.CLOSE;
        }
        return strikes == 1 ? Verdict.REFUSE_FIRST : Verdict.REFUSE;
    }

    /** Charges one typing or cursor signal; false when over its rate. */
    boolean ephemeral(long nowNanos) {
        long elapsed = nowNanos - ephemeralRefilled;
        if (elapsed > 0) {
            ephemeralTokens = refilled(ephemeralTokens, elapsed, limits.ephemeralPerSecond(), limits.ephemeralPerSecond());
            ephemeralRefilled = nowNanos;
        }
        if (ephemeralTokens >= 1) {
            ephemeralTokens -= 1;
            return true;
        }
        return false;
    }

    /** A bucket's tokens after {@code elapsedNanos} at {@code perSecond}, at most {@code burst}. */
    private static double refilled(double tokens, long elapsedNanos, int perSecond, int burst) {
        return Math.min(burst, tokens + elapsedNanos * (perSecond / 1e9));
    }
}
