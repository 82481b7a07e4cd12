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
    /**
     * Per user, the channels held and by how many of the user's subscriptions. An idle node holds
     * one entry per connected user, so it is kept small: the key shares the principal's strings,
     * and a user holding one channel (the common case) has an immutable one-entry map instead of
     * a hash table; it becomes a {@link HashMap} once the user holds more, or the same channel
     * twice. Maps are only changed inside the outer map's {@code compute}.
     */
    private final Map<User, Map<ChannelKey, Integer>> byUser = new ConcurrentHashMap<>();

    private record User(String tenant, String user) {
        User(Principal who) {
            this(who.tenant(), who.user());
        }
    }

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
        byUser.compute(new User(who), (user, held) -> {
            Map<ChannelKey, Integer> h = held == null ? Map.of() : held;
            if (!h.containsKey(key) && h.size() >= max) {
                throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "user " + who.user() + " holds " + max
                        + " channels on this node (all connections together), the most one user may");
            }
            if (h.isEmpty()) {
                return Map.of(key, 1);
            }
            Map<ChannelKey, Integer> m = mutable(h);
            m.merge(key, 1, Integer::sum);
            return m;
        });
    }

    /** Counts one subscription of the user to the channel less. */
    void release(Principal who, ChannelKey key) {
        byUser.computeIfPresent(new User(who), (user, held) -> {
            Integer n = held.get(key);
            if (n == null) {
                return held;
            }
            if (n == 1 && held.size() == 1) {
                return null;
            }
            Map<ChannelKey, Integer> m = mutable(held);
            if (n == 1) {
                m.remove(key);
            } else {
                m.put(key, n - 1);
            }
            return m;
        });
    }

    /** Channels the user holds on this node (tests, metrics). */
    int held(Principal who) {
        Map<ChannelKey, Integer> h = byUser.get(new User(who));
        return h == null ? 0 : h.size();
    }

    private static Map<ChannelKey, Integer> mutable(Map<ChannelKey, Integer> held) {
        return held instanceof HashMap<ChannelKey, Integer> m ? m : new HashMap<>(held);
    }
}
