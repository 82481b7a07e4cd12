package dev.tandem.queue;

import java.util.List;

import dev.tandem.channel.ChannelKey;

/**
 * The Redis key layout of the queue module. Every key of a channel carries the channel in a
 * hash tag, {@code {tenant/name}}, so all of a channel's keys live in one cluster slot and one
 * Lua script may touch them together; the tenant in every key keeps tenants apart by
 * construction (tenant ids cannot contain {@code /}, <code>{</code> or <code>}</code>).
 *
 * <ul>
 *   <li>{@code tandem:{t/ch}:meta}: hash {@code epoch}, {@code top} (the channel's epoch and newest offset)</li>
 *   <li>{@code tandem:{t/ch}:log}: stream of the channel's history, entry id {@code OFFSET-0}, field {@code p}</li>
 *   <li>{@code tandem:{t/ch}:ids}: sorted set of recent source event ids, scored by their offset
 *       (at least the last 1,000 or history-size), so a redelivered event keeps its position</li>
 *   <li>{@code tandem:{t/ch}:live}: pub/sub channel (not a key) carrying {@code epoch|offset|body}</li>
 *   <li>{@code tandem:{t/user:u}:inbox}: stream of the user's unacknowledged messages, entry id {@code GEN-OFFSET}</li>
 *   <li>{@code tandem:{t/user:u}:inbox:meta}: hash {@code epoch}, {@code gen}, {@code top} of the inbox</li>
 * </ul>
 */
final class Keys {
    private Keys() {
    }

    static String tag(ChannelKey channel) {
        return "tandem:{" + channel + "}";
    }

    static String meta(ChannelKey channel) {
        return tag(channel) + ":meta";
    }

    static String log(ChannelKey channel) {
        return tag(channel) + ":log";
    }

    static String topic(ChannelKey channel) {
        return tag(channel) + ":live";
    }

    static List<Object> channelKeys(ChannelKey channel) {
        return List.of(meta(channel), log(channel));
    }

    /** The keys of the publish script: meta, log, and the recent source event ids. */
    static List<Object> publishKeys(ChannelKey channel) {
        return List.of(meta(channel), log(channel), tag(channel) + ":ids");
    }

    static String inbox(ChannelKey userChannel) {
        return tag(userChannel) + ":inbox";
    }

    static String inboxMeta(ChannelKey userChannel) {
        return tag(userChannel) + ":inbox:meta";
    }
}
