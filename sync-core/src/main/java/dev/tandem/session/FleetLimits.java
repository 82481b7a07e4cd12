package dev.tandem.session;

import java.time.Duration;

import io.helidon.config.Config;

/**
 * The node-wide connection limits, the same for every transport (WebSocket connections and event
 * streams count alike), from the {@code tandem} configuration node; every default is here. Zero
 * turns a limit off.
 *
 * @param maxConnections          open connections on this node ({@code max-connections}, 0 = no
 *                                limit); one more is closed with 4030 (reconnect elsewhere)
 * @param maxConnectionsPerTenant authenticated connections of one tenant on this node
 *                                ({@code max-connections-per-tenant}, 0 = no limit); one more is
 *                                closed with 4031
 * @param idleTimeout             how long a connection subscribed to nothing may send nothing but
 *                                pings ({@code idle-timeout}, PT0S = never closed for it); then 4011
 * @param userMessagesPerSecond   messages per second of one user across all its connections on
 *                                this node ({@code user-messages-per-second}, 0 = no limit);
 *                                more are {@code rate_limited}
 * @param userBurst               the burst above that rate ({@code user-burst}, 0 = twice the rate)
 * @param maxConnectionsPerAddress open connections from one client address on this node
 *                                ({@code tandem.connections-per-address}, 1000); one more is closed
 *                                with 4029
 */
public record FleetLimits(int maxConnections, int maxConnectionsPerTenant, Duration idleTimeout,
                          int userMessagesPerSecond, int userBurst, int maxConnectionsPerAddress) {
    /** No limits. */
    public static final FleetLimits NONE = new FleetLimits(0, 0, Duration.ZERO, 0, 0, 0);

    /** Validates the fields. */
    public FleetLimits {
        if (maxConnections < 0 || maxConnectionsPerTenant < 0 || userMessagesPerSecond < 0 || userBurst < 0
                || idleTimeout.isNegative() || maxConnectionsPerAddress < 0) {
            throw new IllegalArgumentException("tandem.limits max-connections, max-connections-per-tenant, "
                    + "idle-timeout, user-messages-per-second, user-burst and tandem.connections-per-address "
                    + "must not be negative");
        }
    }

    /** The limits of a {@code tandem} node ({@code limits.*}, {@code connections-per-address}), defaults for what it lacks. */
    public static FleetLimits create(Config tandem) {
        Config limits = tandem.get("limits");
        return new FleetLimits(
                limits.get("max-connections").asInt().orElse(0),
                limits.get("max-connections-per-tenant").asInt().orElse(0),
                limits.get("idle-timeout").as(Duration.class).orElse(Duration.ZERO),
                limits.get("user-messages-per-second").asInt().orElse(0),
                limits.get("user-burst").asInt().orElse(0),
                tandem.get("connections-per-address").asInt().orElse(1000));
    }

    /** The burst of the per-user rate. */
    int effectiveUserBurst() {
        return userBurst > 0 ? userBurst : 2 * userMessagesPerSecond;
    }
}
