/**
 * The Redis (Redisson) adapter of the presence port: {@link dev.tandem.presence.redis.RedisPresenceStore}.
 */
package dev.tandem.presence.redis;
