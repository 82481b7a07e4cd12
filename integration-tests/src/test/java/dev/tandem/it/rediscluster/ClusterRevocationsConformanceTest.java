package dev.tandem.it.rediscluster;

import java.time.Clock;

import dev.tandem.auth.Revocations;
import dev.tandem.conformance.RevocationsConformanceTest;
import dev.tandem.queue.redis.revocations.RedisRevocations;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The revocations conformance suite on a three-master Redis Cluster; "another node" has its own client. */
class ClusterRevocationsConformanceTest extends RevocationsConformanceTest {
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
    protected Revocations create(Clock clock) {
        return new RedisRevocations(nodeA, clock);
    }

    @Override
    protected Revocations otherNode(Revocations node) {
        return new RedisRevocations(nodeB, Clock.systemUTC());
    }
}
