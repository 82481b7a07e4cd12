package dev.tandem.queue.redis.broker;

import java.time.Clock;
import java.util.Optional;
import java.util.function.Consumer;

import dev.tandem.broker.Broker;
import dev.tandem.broker.BrokerConformanceTest;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.telemetry.Telemetry;
import dev.tandem.queue.redis.RedisClients;

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
        return new Split(a, b);
    }

    /** Subscribes on one node, publishes on the other. */
    private record Split(Broker subscribing, Broker publishing) implements Broker {
        @Override
        public Publication publish(ChannelKey channel, Draft draft) {
            return publishing.publish(channel, draft);
        }

        @Override
        public Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                                  Consumer<Recovery> beforeLive) {
            return subscribing.subscribe(channel, subscriber, since, beforeLive);
        }

        @Override
        public void unsubscribe(ChannelKey channel, Subscriber subscriber) {
            subscribing.unsubscribe(channel, subscriber);
        }

        @Override
        public Position top(ChannelKey channel) {
            return subscribing.top(channel);
        }

        @Override
        public void close() {
            subscribing.close();
            publishing.close();
        }
    }
}
