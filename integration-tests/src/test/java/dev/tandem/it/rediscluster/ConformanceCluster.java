package dev.tandem.it.rediscluster;

import java.util.Map;

import dev.tandem.harness.RedisCluster;
import dev.tandem.queue.redis.RedisSettings;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.redisson.api.RedissonClient;

/**
 * The Redis Cluster the conformance suites run on: three masters, no replicas, started once per
 * test JVM from the OS's {@code redis-server} (killed when the JVM exits), and clients built the
 * way the gateway builds them from {@code tandem.redis.cluster-nodes}.
 */
final class ConformanceCluster {
    private static RedisCluster cluster;

    private ConformanceCluster() {
    }

    static synchronized RedisCluster get() {
        if (cluster == null) {
            cluster = RedisCluster.start("conformance", 3, 0);
        }
        return cluster;
    }

    /** A new client on the cluster: each stands for one gateway node. */
    static RedissonClient client() {
        return connect(get());
    }

    /** A client on {@code cluster} from its seed list, as the gateway reads it from the environment. */
    static RedissonClient connect(RedisCluster cluster) {
        return RedisSettings.create(Config.just(ConfigSources.create(Map.of("cluster-nodes", cluster.seedList()))))
                .orElseThrow().connect();
    }
}
