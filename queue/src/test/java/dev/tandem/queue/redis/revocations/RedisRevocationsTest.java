package dev.tandem.queue.redis.revocations;

import java.time.Clock;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

import dev.tandem.auth.Revocations;
import dev.tandem.conformance.RevocationsConformanceTest;
import dev.tandem.queue.redis.RedisClients;

/** The revocations conformance suite against {@link RedisRevocations}; "another node" has its own client. */
class RedisRevocationsTest extends RevocationsConformanceTest {
    private static RedissonClient nodeA;
    private static RedissonClient nodeB;

    @BeforeAll
    static void connect() {
        nodeA = RedisClients.create();
        nodeB = RedisClients.create();
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
