package dev.tandem.queue.redis;

import java.util.Map;

import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.redisson.api.RedissonClient;

/** Redisson clients on the test Redis ({@link TestServices#redis()}), built as the gateway builds them. */
public final class RedisClients {
    private RedisClients() {
    }

    /** A new client: each stands for one gateway node. */
    public static RedissonClient create() {
        return RedisSettings.create(Config.just(ConfigSources.create(Map.of("address", TestServices.redis()))))
                .orElseThrow().connect();
    }
}
