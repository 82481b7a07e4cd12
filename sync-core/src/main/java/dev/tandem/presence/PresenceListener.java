package dev.tandem.presence;

import dev.tandem.channel.ChannelKey;

/**
 * Told when a user joins or leaves a channel's presence: on the user's first connection and
 * after its last (not per tab), once in the cluster (on the node where it happened, or where the
 * expiry of a dead node's users was noticed). Called on background threads; must not block.
 */
public interface PresenceListener {
    /** Listens to nothing. */
    PresenceListener NONE = new PresenceListener() {
    };

    /** The user's first connection joined the channel's presence. */
    default void joined(ChannelKey channel, String user) {
    }

    /**
     * The user's last connection left.
     *
     * @param expired true when its entries expired (its node stopped refreshing them)
     */
    default void left(ChannelKey channel, String user, boolean expired) {
    }
}
