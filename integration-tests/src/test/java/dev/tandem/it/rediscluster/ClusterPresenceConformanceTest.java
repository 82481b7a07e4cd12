package dev.tandem.it.rediscluster;

import java.time.Clock;

import dev.tandem.conformance.PresenceConformanceTest;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import dev.tandem.presence.redis.RedisPresenceStore;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The presence conformance suite on a three-master Redis Cluster; "another node" has its own client. */
class ClusterPresenceConformanceTest extends PresenceConformanceTest {
    private static RedissonClient nodeA;
    private static RedissonClient nodeB;

    @BeforeAll
    static void connect() {
        nodeA = ConformanceCluster.client();
        nodeB = ConformanceCluster.client();
    }

    @AfterAll
    static void disconnect() {
        nodeA.shutdown();
        nodeB.shutdown();
    }

    @Override
    protected PresenceStore createStore(PresenceLimits limits, Clock clock) {
        return new RedisPresenceStore(nodeA, limits, clock);
    }

    @Override
    protected PresenceStore otherNode(PresenceStore store) {
        return new RedisPresenceStore(nodeB, store.limits(), clock);
    }
}
