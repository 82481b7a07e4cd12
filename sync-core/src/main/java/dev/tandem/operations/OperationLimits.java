package dev.tandem.operations;

import io.helidon.config.Config;

/**
 * The limits of the operations layer, the same for every transport, from the
 * {@code tandem.limits} configuration node; every default is here.
 *
 * @param maxSyncOps            operations per {@code sync} batch (WebSocket and REST)
 *                              ({@code max-sync-ops}, 100); more is {@code too_large}
 * @param documentOpsPerSecond  document operations per second per user, each op of a batch
 *                              counted ({@code document-ops-per-second}, 100)
 * @param documentOpsBurst      the burst above that rate ({@code document-ops-burst}, 200); a
 *                              request over it is {@code rate_limited} and applies nothing
 * @param maxChannelsPerUser    distinct channels one user's subscriptions may hold on a node,
 *                              across its connections ({@code max-channels-per-user}, 512); one
 *                              more is {@code limit_exceeded}
 */
public record OperationLimits(int maxSyncOps, int documentOpsPerSecond, int documentOpsBurst,
                              int maxChannelsPerUser) {
    /** The defaults. */
    public static final OperationLimits DEFAULTS = new OperationLimits(100, 100, 200, 512);

    /** Validates the fields. */
    public OperationLimits {
        if (maxSyncOps < 1) {
            throw new IllegalArgumentException("tandem.limits.max-sync-ops must be positive, was " + maxSyncOps);
        }
        if (documentOpsPerSecond < 1) {
            throw new IllegalArgumentException("tandem.limits.document-ops-per-second must be positive, was "
                    + documentOpsPerSecond);
        }
        if (documentOpsBurst < maxSyncOps) {
            throw new IllegalArgumentException("tandem.limits.document-ops-burst (" + documentOpsBurst
                    + ") must be at least max-sync-ops (" + maxSyncOps + "), or a full batch could never pass");
        }
        if (maxChannelsPerUser < 1) {
            throw new IllegalArgumentException("tandem.limits.max-channels-per-user must be positive, was "
                    + maxChannelsPerUser);
        }
    }

    /** Limits from a {@code tandem.limits} node, defaults for what it lacks. */
    public static OperationLimits create(Config limits) {
        OperationLimits d = DEFAULTS;
        return new OperationLimits(
                limits.get("max-sync-ops").asInt().orElse(d.maxSyncOps),
                limits.get("document-ops-per-second").asInt().orElse(d.documentOpsPerSecond),
                limits.get("document-ops-burst").asInt().orElse(d.documentOpsBurst),
                limits.get("max-channels-per-user").asInt().orElse(d.maxChannelsPerUser));
    }
}
