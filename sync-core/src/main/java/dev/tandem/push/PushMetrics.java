package dev.tandem.push;

/** What the dispatcher counts: each finished or retried send by provider and outcome. */
public interface PushMetrics {
    /** Counts nothing. */
    PushMetrics NONE = (provider, outcome) -> { };

    /**
     * One send ended.
     *
     * @param provider {@code webpush}, {@code fcm}, {@code apns}, or {@code none} when nothing was sent
     * @param outcome  {@code delivered}, {@code gone}, {@code retry}, {@code rejected}, {@code failed}, {@code expired}
     */
    void sent(String provider, String outcome);
}
