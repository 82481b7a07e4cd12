package dev.tandem.queue.redis.broker;

import java.time.Clock;

import dev.tandem.broker.Broker;
import dev.tandem.conformance.BrokerConformanceTest;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.queue.redis.RedisClients;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.redisson.api.RedissonClient;

/** The broker conformance suite against {@link RedisBroker} on a real Redis, one node. */
class RedisBrokerTest extends BrokerConformanceTest {
    private static RedissonClient redisson;

    @BeforeAll
    static void connect() {
        redisson = RedisClients.create();
    }

    @AfterAll
    static void disconnect() {
        redisson.shutdown();
    }

    @Override
    protected Broker createBroker(Hub hub, ChannelRules rules) {
        return new RedisBroker(redisson, hub, rules, Telemetry.NOOP, Clock.systemUTC());
    }
}
