package dev.tandem.push;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.telemetry.LogText;

/**
 * What became of one notification sent to one device. Each outcome says what the caller does next:
 * {@link Delivered} — nothing; {@link Gone} — remove the device, it will never be reached again;
 * {@link RetryLater} — try again, not before {@code retryAfter} when the service said so;
 * {@link Rejected} — give up on this notification (the device stays). A {@code status} of 0 means
 * no HTTP answer was had (the service was not reachable, or the node refused before sending).
 * Reasons are bounded and escaped ({@link LogText#safe}) so they may go into a log or a history
 * row as they are; they never contain a token or key.
 */
public sealed interface PushOutcome permits PushOutcome.Delivered, PushOutcome.Gone, PushOutcome.RetryLater,
        PushOutcome.Rejected {
    /** The HTTP status the service answered, or 0. */
    int status();

    /** A short label for metrics: {@code delivered}, {@code gone}, {@code retry}, {@code rejected}. */
    default String label() {
        return switch (this) {
            case Delivered d -> "delivered";
            case Gone g -> "gone";
            case RetryLater r -> "retry";
            case Rejected r -> "rejected";
        };
    }

    /**
     * The push service accepted the notification.
     *
     * @param status    the HTTP status (2xx)
     * @param messageId the service's id for the message, when it gives one (a Web Push
     *                  {@code Location}, an FCM message name, an {@code apns-id})
     */
    record Delivered(int status, Optional<String> messageId) implements PushOutcome {
        /** Bounds the id. */
        public Delivered {
            messageId = messageId.map(LogText::safe);
        }
    }

    /**
     * The device no longer exists (Web Push 404/410, FCM {@code UNREGISTERED}, APNs 410 or
     * {@code BadDeviceToken}): remove it.
     *
     * @param status the HTTP status
     * @param reason why, bounded
     */
    record Gone(int status, String reason) implements PushOutcome {
        /** Bounds the reason. */
        public Gone {
            reason = LogText.safe(Objects.requireNonNull(reason, "reason"));
        }
    }

    /**
     * A passing failure (429, 5xx, no answer): try again later.
     *
     * @param status     the HTTP status, or 0 when the service was not reachable
     * @param retryAfter the service's {@code Retry-After}, when it sent one
     * @param reason     why, bounded
     */
    record RetryLater(int status, Optional<Duration> retryAfter, String reason) implements PushOutcome {
        /** Bounds the reason and refuses a negative delay. */
        public RetryLater {
            Objects.requireNonNull(retryAfter, "retryAfter");
            if (retryAfter.isPresent() && retryAfter.get().isNegative()) {
                throw new IllegalArgumentException("retryAfter must not be negative");
            }
            reason = LogText.safe(Objects.requireNonNull(reason, "reason"));
        }
    }

    /**
     * The service refused this notification and sending it again will not help (another 4xx, a
     * payload too large, a provider that is not configured, an endpoint not on the allow-list).
     *
     * @param status the HTTP status, or 0 when the node refused before sending
     * @param reason why, bounded
     */
    record Rejected(int status, String reason) implements PushOutcome {
        /** Bounds the reason. */
        public Rejected {
            reason = LogText.safe(Objects.requireNonNull(reason, "reason"));
        }
    }
}
