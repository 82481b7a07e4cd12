/**
 * The Redis (Redisson) adapters of the queue module and what they share: {@link
 * dev.tandem.queue.redis.RedisSettings} builds the one client every Redis adapter uses (one
 * instance or a Redis Cluster), {@link dev.tandem.queue.redis.Keys} lays out the keys so each
 * channel's and user's keys share a hash slot. The adapters: the broker
 * ({@code dev.tandem.queue.redis.broker}), inboxes ({@code dev.tandem.queue.redis.inbox}) and
 * revocations ({@code dev.tandem.queue.redis.revocations}).
 */
package dev.tandem.queue.redis;
