/**
 * Presence on Redis: the engine's {@code PresenceStore} port for cluster mode, through Redisson.
 */
module dev.tandem.presence {
    requires transitive dev.tandem.core;
    requires redisson;

    exports dev.tandem.presence.redis;
}
