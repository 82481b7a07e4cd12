package dev.tandem.it.rediscluster;

import java.time.Clock;

import dev.tandem.broker.Broker;
import dev.tandem.conformance.BrokerConformanceTest;
import dev.tandem.conformance.SplitBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.queue.redis.broker.RedisBroker;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The broker conformance suite on a three-master Redis Cluster, split across two nodes: every
 * publication goes through node B, every subscription, recovery and top is asked of node A.
 * The suite's channels spread over all three shards.
 */
class ClusterBrokerConformanceTest extends BrokerConformanceTest {
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
    protected Broker createBroker(Hub hub, ChannelRules rules) {
        RedisBroker a = new RedisBroker(nodeA, hub, rules, Telemetry.NOOP, Clock.systemUTC());
        RedisBroker b = new RedisBroker(nodeB, new Hub(FrameCodec.create(), Telemetry.NOOP), rules, Telemetry.NOOP,
                Clock.systemUTC());
        return new SplitBroker(a, b);
    }
}
