package dev.tandem.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.client.RedisException;

import dev.tandem.queue.redis.RedisSettings;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redis readiness on the probe's own connection, against a real Redis. */
class RedisProbeTest {

    @Test
    void aCommandPoolBusyWithTheNodesOwnWorkIsNotTakenForRedisDown() throws Exception {
        Config redis = Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(Map.of("address", TestServices.redis(),
                        "connection-pool-size", "1", "connection-minimum-idle", "1")))
                .build();
        RedissonClient r = RedisSettings.create(redis).orElseThrow().connect();
        try (RedisProbe probe = new RedisProbe(r, Duration.ofMillis(500))) {
            assertTrue(probe.ping(), "Redis answers");
            // the node's only pooled connection waits in a blocking pop for two seconds
            CompletableFuture<Object> busy = r.getBlockingQueue("probe-test-" + UUID.randomUUID())
                    .pollAsync(2, TimeUnit.SECONDS).toCompletableFuture();
            Thread.sleep(100);
            assertFalse(pooledPing(r), "a PING through the pool waits behind the node's own command");
            assertTrue(probe.ping(), "the probe's own connection still answers");
            assertTrue(probe.ping(), "and is kept for the next probe");
            busy.get(5, TimeUnit.SECONDS);
        } finally {
            r.shutdown();
        }
    }

    private static boolean pooledPing(RedissonClient r) {
        try {
            return r.getRedisNodes(RedisNodes.SINGLE).getInstance().ping(500, TimeUnit.MILLISECONDS);
        } catch (RedisException e) {
            return false; // timed out waiting for a connection or the answer
        }
    }
}
