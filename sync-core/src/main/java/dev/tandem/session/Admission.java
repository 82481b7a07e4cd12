package dev.tandem.session;

/**
 * A connection's inbound rate limits: every message (and ping) is charged against a token
 * bucket of {@code messages-per-second} with a {@code burst}; typing and cursor signals also
 * against their own bucket. Refused messages count as strikes; {@code flood-strikes} in a row
 * mean the peer ignores {@code rate_limited} and the connection is closed. One per connection,
 * used by its reading thread (not thread-safe).
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

    private final TokenBucket messages;
    private final TokenBucket ephemeral;
    private final int floodStrikes;
    private int strikes;

    Admission(SessionLimits limits, long nowNanos) {
        this.messages = new TokenBucket(limits.messagesPerSecond(), limits.burst(), nowNanos);
        this.ephemeral = new TokenBucket(limits.ephemeralPerSecond(), limits.ephemeralPerSecond(), nowNanos);
        this.floodStrikes = limits.floodStrikes();
    }

    /** Charges one message. */
    Verdict admit(long nowNanos) {
        if (messages.tryAcquire(nowNanos)) {
            strikes = 0;
            return Verdict.ADMIT;
        }
        strikes++;
        if (strikes >= floodStrikes) {
            return Verdict.CLOSE;
        }
        return strikes == 1 ? Verdict.REFUSE_FIRST : Verdict.REFUSE;
    }

    /** Charges one typing or cursor signal; false when over its rate. */
    boolean ephemeral(long nowNanos) {
        return ephemeral.tryAcquire(nowNanos);
    }
}
