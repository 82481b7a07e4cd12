/**
 * Durable delivery on Redis (Redisson) for cluster mode: the channel broker with history and
 * recovery ({@link dev.tandem.queue.RedisBroker}) and user inboxes ({@link dev.tandem.queue.RedisInbox}).
 */
package dev.tandem.queue;
