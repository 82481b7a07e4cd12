package dev.tandem.queue;

import dev.tandem.testing.TestServices;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/** Redisson clients on the test Redis ({@link TestServices#redis()}). */
final class RedisClients {
    private RedisClients() {
    }

    /** A new client: each stands for one gateway node. */
    static RedissonClient create() {
        Config config = new Config();
        config.setNettyThreads(4);
        config.useSingleServer()
                .setAddress(TestServices.redis())
                .setConnectionMinimumIdleSize(2)
                .setConnectionPoolSize(16)
                .setSubscriptionConnectionMinimumIdleSize(1);
        return Redisson.create(config);
    }
}
