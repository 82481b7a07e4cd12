package dev.tandem.queue.redis;

import dev.tandem.channel.ChannelKey;

/**
 * The Redis key layout of the queue module's adapters, in one place. Every key of a channel
 * carries the channel in a hash tag, {@code {tenant/name}}, so all of a channel's keys (and its
 * shard channel) live in one cluster slot, on one shard, and one Lua script may touch them
 * together; the tenant in every key keeps tenants apart by construction (tenant ids cannot
 * contain {@code /}, <code>{</code> or <code>}</code>). A user's inbox shares the slot of the
 * user's channel {@code user:ID}.
 *
 * <ul>
 *   <li>{@code tandem:{t/ch}:meta}: hash {@code epoch}, {@code top} (the channel's epoch and
 *       newest offset) and, on a cluster, {@code w} (the id of the master that wrote last)</li>
 *   <li>{@code tandem:{t/ch}:log}: stream of the channel's history, entry id {@code OFFSET-0}, field {@code p}</li>
 *   <li>{@code tandem:{t/ch}:ids}: sorted set of recent source event ids, scored by their offset
 *       (at least the last 1,000 or history-size), so a redelivered event keeps its position</li>
 *   <li>{@code tandem:{t/ch}:live}: shard channel (not a key) carrying {@code epoch|offset|body}</li>
 *   <li>{@code tandem:{t/user:u}:inbox}: stream of the user's unacknowledged messages, entry id {@code GEN-OFFSET}</li>
 *   <li>{@code tandem:{t/user:u}:inbox:meta}: hash {@code epoch}, {@code gen}, {@code top} of the inbox</li>
 *   <li>{@code tandem:{t/user:u}:inbox:order}: the lock that orders appends across nodes</li>
 *   <li>{@code tandem:{t}:revoked:jti:ID} and {@code tandem:{t}:revoked:user:U}: revocations of a
 *       tenant, in the tenant's slot</li>
 *   <li>{@code tandem:{revocations}:notices}: shard channel of revocation and disconnect notices</li>
 * </ul>
 */
public final class Keys {
    /** The shard channel every node hears revocations and disconnects on. */
    public static final String NOTICES = "tandem:{revocations}:notices";

    private Keys() {
    }

    /** The common prefix of a channel's keys, with its hash tag. */
    public static String tag(ChannelKey channel) {
        return "tandem:{" + channel + "}";
    }

    public static String meta(ChannelKey channel) {
        return tag(channel) + ":meta";
    }

    public static String log(ChannelKey channel) {
        return tag(channel) + ":log";
    }

    public static String ids(ChannelKey channel) {
        return tag(channel) + ":ids";
    }

    /** The channel's shard channel. */
    public static String live(ChannelKey channel) {
        return tag(channel) + ":live";
    }

    public static String inbox(ChannelKey userChannel) {
        return tag(userChannel) + ":inbox";
    }

    public static String inboxMeta(ChannelKey userChannel) {
        return tag(userChannel) + ":inbox:meta";
    }

    public static String inboxOrder(ChannelKey userChannel) {
        return tag(userChannel) + ":inbox:order";
    }

    public static String revokedToken(String tenant, String tokenId) {
        return "tandem:{" + tenant + "}:revoked:jti:" + tokenId;
    }

    public static String revokedUser(String tenant, String user) {
        return "tandem:{" + tenant + "}:revoked:user:" + user;
    }
}
