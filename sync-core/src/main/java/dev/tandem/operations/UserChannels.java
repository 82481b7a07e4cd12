package dev.tandem.operations;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * How many distinct channels each user holds subscriptions to on this node, across all of the
 * user's connections and transports, bounded ({@code tandem.limits.max-channels-per-user}): one
 * user cannot fill the tenant's channels (300 {@code doc:} subscriptions by one user once left
 * the other users of the tenant unable to subscribe). A channel held by several connections of
 * the user counts once.
 */
final class UserChannels {
    private final int max;
    /** Per user (tenant and user id), the channels held and by how many of the user's subscriptions. */
    private final Map<String, Map<ChannelKey, Integer>> byUser = new ConcurrentHashMap<>();

    UserChannels(int max) {
        this.max = max;
    }

    /**
     * Counts one more subscription of the user to the channel.
     *
     * @throws ProtocolException {@code LIMIT_EXCEEDED} when the channel would be one more than the
     *                           user may hold; nothing is counted then
     */
    void acquire(Principal who, ChannelKey key) {
        byUser.compute(userKey(who), (user, held) -> {
            Map<ChannelKey, Integer> h = held == null ? new HashMap<>() : held;
            if (!h.containsKey(key) && h.size() >= max) {
                throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "user " + who.user() + " holds " + max
                        + " channels on this node (all connections together), the most one user may");
            }
            h.merge(key, 1, Integer::sum);
            return h;
        });
    }

    /** Counts one subscription of the user to the channel less. */
    void release(Principal who, ChannelKey key) {
        byUser.computeIfPresent(userKey(who), (user, held) -> {
            held.computeIfPresent(key, (k, n) -> n > 1 ? n - 1 : null);
            return held.isEmpty() ? null : held;
        });
    }

    /** Channels the user holds on this node (tests, metrics). */
    int held(Principal who) {
        Map<ChannelKey, Integer> h = byUser.get(userKey(who));
        return h == null ? 0 : h.size();
    }

    private static String userKey(Principal who) {
        return who.tenant() + '\u0000' + who.user();
    }
}
