package dev.tandem.queue.redis;

import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading {@code tandem.redis}: one Redis, a cluster's seeds from YAML or from one environment value, bad settings. */
class RedisSettingsTest {
    private static Config redis(Map<String, String> values) {
        return Config.just(ConfigSources.create(values));
    }

    @Test
    void noAddressAndNoSeedsMeansStandalone() {
        assertTrue(RedisSettings.create(redis(Map.of())).isEmpty());
        assertTrue(RedisSettings.create(redis(Map.of("address", " "))).isEmpty());
    }

    @Test
    void anAddressIsOneRedis() {
        RedisSettings s = RedisSettings.create(redis(Map.of("address", "redis://10.0.0.5:6379", "password", "p4ss")))
                .orElseThrow();
        assertFalse(s.cluster());
        assertEquals("Redis at redis://10.0.0.5:6379", s.where());
        assertFalse(s.toString().contains("p4ss"), "never the password");
    }

    @Test
    void seedsComeAsOneCommaSeparatedValueOrAsAList() {
        RedisSettings fromEnv = RedisSettings.create(redis(Map.of(
                "cluster-nodes", "redis://a:7000, redis://b:7000,,rediss://c:7000"))).orElseThrow();
        assertTrue(fromEnv.cluster());
        assertEquals("the Redis Cluster at redis://a:7000, redis://b:7000, rediss://c:7000", fromEnv.where());
        RedisSettings fromYaml = RedisSettings.create(redis(Map.of(
                "cluster-nodes.0", "redis://a:7000", "cluster-nodes.1", "redis://b:7000"))).orElseThrow();
        assertEquals("the Redis Cluster at redis://a:7000, redis://b:7000", fromYaml.where());
        assertTrue(fromYaml.setting().contains("TANDEM_REDIS_CLUSTER_dash_NODES"));
    }

    @Test
    void inconsistentSettingsAreRefusedWithWhatToCorrect() {
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(redis(
                Map.of("address", "redis://a:6379", "cluster-nodes", "redis://b:6379"))));
        assertTrue(both.getMessage().contains("not both"), both.getMessage());
        IllegalArgumentException scheme = assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(
                redis(Map.of("cluster-nodes", "redis://a:6379,b:6379"))));
        assertTrue(scheme.getMessage().contains("\"b:6379\""), scheme.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(redis(Map.of(
                "address", "redis://a:6379", "subscriptions-per-connection", "0"))));
    }

    @Test
    void everyWaitFitsTheTimeoutBudget() {
        RedisSettings defaults = RedisSettings.create(redis(Map.of("address", "redis://a:6379"))).orElseThrow();
        assertEquals(RedisSettings.DEFAULT_BUDGET, defaults.budget());
        RedisSettings tight = RedisSettings.create(redis(Map.of("address", "redis://a:6379",
                "timeout-budget", "PT1S"))).orElseThrow();
        assertEquals(java.time.Duration.ofSeconds(1), tight.budget());
        // three tries of 3 s cannot fit in 2 s: refused at start, naming the numbers
        IllegalArgumentException over = assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(
                redis(Map.of("address", "redis://a:6379", "timeout", "PT3S", "retry-attempts", "2"))));
        assertTrue(over.getMessage().contains("timeout-budget (2000 ms)"), over.getMessage());
        assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(redis(Map.of(
                "address", "redis://a:6379", "connect-timeout", "PT5S"))));
        // a larger budget admits them
        RedisSettings.create(redis(Map.of("address", "redis://a:6379", "timeout-budget", "PT10S", "timeout", "PT3S",
                "retry-attempts", "2"))).orElseThrow();
    }

    @Test
    void theCommandConnectionPoolIsSizedBySettings() {
        var single = RedisSettings.create(redis(Map.of("address", "redis://a:6379"))).orElseThrow().redissonConfig()
                .useSingleServer();
        assertEquals(RedisSettings.DEFAULT_POOL_SIZE, single.getConnectionPoolSize());
        assertEquals(RedisSettings.DEFAULT_MINIMUM_IDLE, single.getConnectionMinimumIdleSize());
        var warm = RedisSettings.create(redis(Map.of("address", "redis://a:6379", "connection-pool-size", "128",
                "connection-minimum-idle", "128"))).orElseThrow().redissonConfig().useSingleServer();
        assertEquals(128, warm.getConnectionPoolSize());
        assertEquals(128, warm.getConnectionMinimumIdleSize());
        var cluster = RedisSettings.create(redis(Map.of("cluster-nodes", "redis://a:7000", "connection-pool-size", "16")))
                .orElseThrow().redissonConfig().useClusterServers();
        assertEquals(16, cluster.getMasterConnectionPoolSize());
        assertEquals(RedisSettings.DEFAULT_CLUSTER_MINIMUM_IDLE, cluster.getMasterConnectionMinimumIdleSize());
        // a small pool lowers the default idle count with it; more idle than the pool is refused
        assertEquals(4, RedisSettings.create(redis(Map.of("address", "redis://a:6379", "connection-pool-size", "4")))
                .orElseThrow().redissonConfig().useSingleServer().getConnectionMinimumIdleSize());
        IllegalArgumentException idle = assertThrows(IllegalArgumentException.class, () -> RedisSettings.create(
                redis(Map.of("address", "redis://a:6379", "connection-pool-size", "8", "connection-minimum-idle", "9"))));
        assertTrue(idle.getMessage().contains("connection-minimum-idle"), idle.getMessage());
    }
}
