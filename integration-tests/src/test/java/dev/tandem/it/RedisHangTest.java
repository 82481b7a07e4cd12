package dev.tandem.it;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.harness.FreezingProxy;
import dev.tandem.hub.Hub;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.redis.RedisPresenceStore;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.queue.redis.RedisSettings;
import dev.tandem.queue.redis.broker.RedisBroker;
import dev.tandem.queue.redis.inbox.RedisInbox;
import dev.tandem.queue.redis.revocations.RedisRevocations;
import dev.tandem.telemetry.Telemetry;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Redis adapters when Redis hangs (every byte held, no connection closed, through a
 * {@link FreezingProxy}), built as the gateway builds them with the default
 * {@code timeout-budget}: each call (publish, subscribe, revocation check, presence, the inbox's
 * order lock) is answered {@code unavailable} within the budget instead of
 * waiting out the client's retries, the broker stops reporting {@code delivering}, and after the
 * freeze everything works again.
 */
class RedisHangTest {
    private static final Duration BUDGET = RedisSettings.DEFAULT_BUDGET;
    /** Scheduling slack on a shared 2-core machine. */
    private static final Duration SLACK = Duration.ofMillis(700);

    @Test
    void everyAdapterCallAnswersUnavailableWithinTheBudgetWhileRedisHangs() throws Exception {
        URI redis = URI.create(TestServices.redis());
        FrameCodec codec = FrameCodec.create();
        ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of())));
        try (FreezingProxy proxy = new FreezingProxy(redis.getHost(), redis.getPort())) {
            RedissonClient client = RedisSettings.create(Config.just(ConfigSources.create(Map.of("address",
                    proxy.redisUrl())))).orElseThrow().connect();
            RedisBroker broker = new RedisBroker(client, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                    Clock.systemUTC());
            RedisRevocations revocations = new RedisRevocations(client, Clock.systemUTC());
            RedisPresenceStore presence = new RedisPresenceStore(client, PresenceLimits.defaults(), Clock.systemUTC());
            RedisInbox inbox = new RedisInbox(client, Duration.ofMinutes(1), BUDGET, Clock.systemUTC());
            try {
                String run = Long.toString(System.nanoTime(), 36);
                ChannelKey ch = rules.resolve("hang" + run, "tenant");
                Principal who = new Principal("hang" + run, "u1", Set.of(), Map.of(), Optional.empty(),
                        Optional.of("jti-" + run), Optional.of(Instant.now()));
                broker.publish(ch, Draft.durable("n", codec.object().put("n", 1)));
                await(broker::delivering, "delivering before the freeze");

                proxy.freeze();
                long frozenAt = System.nanoTime();
                java.util.concurrent.atomic.AtomicLong notDelivering = new java.util.concurrent.atomic.AtomicLong();
                Thread watch = Thread.ofVirtual().start(() -> {
                    while (broker.delivering() && System.nanoTime() - frozenAt < 30_000_000_000L) {
                        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000);
                    }
                    notDelivering.set(System.nanoTime());
                });
                List<String> slow = new CopyOnWriteArrayList<>();
                unavailableInTime("publish", () -> broker.publish(ch, Draft.durable("n", codec.object().put("n", 2))), slow);
                unavailableInTime("revocation check", () -> revocations.revoked(who), slow);
                unavailableInTime("presence join", () -> presence.join(ch, "u1", "c1", Optional.empty()), slow);
                unavailableInTime("subscribe", () -> broker.subscribe(rules.resolve("hang" + run, "location:w" + run),
                        (p, frame) -> { }, Optional.empty(), r -> { }), slow);
                ChannelKey inboxOf = rules.resolve("hang" + run, "user:u1");
                unavailableInTime("inbox order lock", () -> inbox.orderLock(inboxOf).lock(), slow);
                assertTrue(slow.isEmpty(), "answered later than the budget: " + slow);
                watch.join();
                long downAfter = (notDelivering.get() - frozenAt) / 1_000_000;
                System.out.println("while Redis hangs, the broker stopped reporting delivering after " + downAfter + " ms");
                assertTrue(downAfter < BUDGET.plus(Duration.ofSeconds(1)).plus(SLACK).toMillis(),
                        "the broker noticed the hang after " + downAfter + " ms");

                proxy.unfreeze();
                await(broker::delivering, "delivering again after the freeze");
                await(() -> {
                    try {
                        broker.publish(ch, Draft.durable("n", codec.object().put("n", 3)));
                        return true;
                    } catch (ProtocolException e) {
                        return false;
                    }
                }, "publishing again after the freeze");
                assertEquals(false, revocations.revoked(who));
            } finally {
                broker.close();
                revocations.close();
                presence.close();
                inbox.close();
                client.shutdown();
            }
        }
    }

    private static void unavailableInTime(String what, Executable call, List<String> slow) {
        long start = System.nanoTime();
        ProtocolException e = assertThrows(ProtocolException.class, call, what + " while Redis hangs");
        long took = (System.nanoTime() - start) / 1_000_000;
        assertEquals(ErrorCode.UNAVAILABLE, e.code(), what);
        System.out.println("while Redis hangs, " + what + " answered unavailable after " + took + " ms");
        if (took > BUDGET.plus(SLACK).toMillis()) {
            slow.add(what + " " + took + " ms");
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 30 s: " + what);
            }
            Thread.sleep(50);
        }
    }
}
