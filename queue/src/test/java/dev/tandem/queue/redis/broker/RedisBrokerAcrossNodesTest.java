package dev.tandem.queue.redis.broker;

import java.time.Clock;

import dev.tandem.broker.Broker;
import dev.tandem.conformance.BrokerConformanceTest;
import dev.tandem.conformance.SplitBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.queue.redis.RedisClients;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/**
 * The whole broker conformance suite once more, split across two nodes: every publication
 * goes through node B (its own Redisson client and hub), every subscription, recovery and
 * top is asked of node A. So each case also holds across nodes.
 */
class RedisBrokerAcrossNodesTest extends BrokerConformanceTest {
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
    protected Broker createBroker(Hub hub, ChannelRules rules) {
        RedisBroker a = new RedisBroker(nodeA, hub, rules, Telemetry.NOOP, Clock.systemUTC());
        RedisBroker b = new RedisBroker(nodeB, new Hub(FrameCodec.create(), Telemetry.NOOP), rules, Telemetry.NOOP,
                Clock.systemUTC());
        return new SplitBroker(a, b);
    }
}
