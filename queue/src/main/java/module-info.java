/**
 * The engine's Redis adapters, on one Redis or a Redis Cluster through Redisson: the broker
 * (history, offsets, epochs, sharded fan-out), user inboxes and token revocations, each behind
 * the port it implements; {@code dev.tandem.queue.redis} holds the shared connection settings.
 */
module dev.tandem.queue {
    requires transitive dev.tandem.core;
    requires transitive redisson;

    exports dev.tandem.queue.redis;
    exports dev.tandem.queue.redis.broker;
    exports dev.tandem.queue.redis.inbox;
    exports dev.tandem.queue.redis.revocations;
}
