package dev.tandem.session;

import java.time.Duration;

import io.helidon.config.Config;

/**
 * The limits every connection runs under, from the {@code tandem.limits} configuration node.
 * Every key has a default here, the one place they are defined.
 *
 * @param maxFrameBytes         largest inbound message, after aggregating fragments
 *                              ({@code max-frame-bytes}, 65536); larger ones close with 1009
 * @param messagesPerSecond     sustained inbound rate per connection ({@code messages-per-second}, 50)
 * @param burst                 inbound burst allowance ({@code burst}, 100)
 * @param floodStrikes          messages refused as {@code rate_limited} in a row before the
 *                              connection is closed with 4008 ({@code flood-strikes}, 50)
 * @param maxSubscriptions      subscriptions per connection ({@code max-subscriptions}, 128)
 * @param outboundQueueMessages frames queued for a slow reader before it is closed with 4009
 *                              ({@code outbound-queue-messages}, 4096)
 * @param outboundQueueBytes    bytes queued likewise ({@code outbound-queue-bytes}, 8 MiB)
 * @param authTimeout           time to send {@code connect} when the upgrade carried no token
 *                              ({@code auth-timeout}, PT10S)
 * @param heartbeatInterval     how often the server pings ({@code heartbeat-interval}, PT25S)
 * @param heartbeatTimeout      extra time for an answer before closing with 4010
 *                              ({@code heartbeat-timeout}, PT10S)
 * @param writeTimeout          how long a close may wait for a blocked write before the socket is
 *                              dropped ({@code write-timeout}, PT10S)
 * @param ephemeralPerSecond    ephemeral publications (typing, cursor) per second per connection,
 *                              on top of the message rate ({@code ephemeral-per-second}, 10)
 */
public record SessionLimits(int maxFrameBytes, int messagesPerSecond, int burst, int floodStrikes,
                            int maxSubscriptions, int outboundQueueMessages, long outboundQueueBytes,
                            Duration authTimeout, Duration heartbeatInterval, Duration heartbeatTimeout,
                            Duration writeTimeout, int ephemeralPerSecond) {
    /** The defaults. */
    public static final SessionLimits DEFAULTS = new SessionLimits(64 * 1024, 50, 100, 50, 128, 4096,
            8L * 1024 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(25), Duration.ofSeconds(10),
            Duration.ofSeconds(10), 10);

    /** Validates the fields. */
    public SessionLimits {
        positive("max-frame-bytes", maxFrameBytes);
        positive("messages-per-second", messagesPerSecond);
        positive("burst", burst);
        positive("flood-strikes", floodStrikes);
        positive("max-subscriptions", maxSubscriptions);
        positive("outbound-queue-messages", outboundQueueMessages);
        positive("outbound-queue-bytes", outboundQueueBytes);
        positive("auth-timeout", authTimeout.toMillis());
        positive("heartbeat-interval", heartbeatInterval.toMillis());
        positive("heartbeat-timeout", heartbeatTimeout.toMillis());
        positive("write-timeout", writeTimeout.toMillis());
        positive("ephemeral-per-second", ephemeralPerSecond);
    }

    /** Limits from a {@code tandem.limits} node, defaults for what it lacks. */
    public static SessionLimits create(Config limits) {
        SessionLimits d = DEFAULTS;
        return new SessionLimits(
                limits.get("max-frame-bytes").asInt().orElse(d.maxFrameBytes),
                limits.get("messages-per-second").asInt().orElse(d.messagesPerSecond),
                limits.get("burst").asInt().orElse(d.burst),
                limits.get("flood-strikes").asInt().orElse(d.floodStrikes),
                limits.get("max-subscriptions").asInt().orElse(d.maxSubscriptions),
                limits.get("outbound-queue-messages").asInt().orElse(d.outboundQueueMessages),
                limits.get("outbound-queue-bytes").asLong().orElse(d.outboundQueueBytes),
                limits.get("auth-timeout").as(Duration.class).orElse(d.authTimeout),
                limits.get("heartbeat-interval").as(Duration.class).orElse(d.heartbeatInterval),
                limits.get("heartbeat-timeout").as(Duration.class).orElse(d.heartbeatTimeout),
                limits.get("write-timeout").as(Duration.class).orElse(d.writeTimeout),
                limits.get("ephemeral-per-second").asInt().orElse(d.ephemeralPerSecond));
    }

    private static void positive(String key, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("tandem.limits." + key + " must be positive, was " + value);
        }
    }
}
