package dev.tandem.presence.redis;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.tandem.channel.ChannelKey;
import dev.tandem.presence.Member;
import dev.tandem.conformance.PresenceConformanceTest;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import dev.tandem.testing.TestServices;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The presence conformance suite against {@link RedisPresenceStore}; "another node" has its own client. */
class RedisPresenceStoreTest extends PresenceConformanceTest {
    private static RedissonClient nodeA;
    private static RedissonClient nodeB;

    @BeforeAll
    static void connect() {
        nodeA = client();
        nodeB = client();
    }

    @AfterAll
    static void disconnect() {
        nodeA.shutdown();
        nodeB.shutdown();
    }

    static RedissonClient client() {
        Config config = new Config();
        config.setNettyThreads(4);
        config.useSingleServer().setAddress(TestServices.redis()).setConnectionMinimumIdleSize(2)
                .setSubscriptionConnectionMinimumIdleSize(0);
        return Redisson.create(config);
    }

    @Override
    protected PresenceStore createStore(PresenceLimits limits, Clock clock) {
        return new RedisPresenceStore(nodeA, limits, clock);
    }

    @Override
    protected PresenceStore otherNode(PresenceStore store) {
        return new RedisPresenceStore(nodeB, store.limits(), clock);
    }

    /** With the real clock: a node that dies without a leave takes its users offline within the TTL. */
    @Test
    @Timeout(30)
    void aDeadNodesUsersDisappearWithinTheTtlOnTheRealClock() throws Exception {
        PresenceLimits shortTtl = new PresenceLimits(Duration.ofMillis(600), 256);
        ChannelKey doc = key("doc:note:real");
        RedissonClient dying = client();
        PresenceStore onDyingNode = new RedisPresenceStore(dying, shortTtl, Clock.systemUTC());
        PresenceStore survivor = new RedisPresenceStore(nodeB, shortTtl, Clock.systemUTC());
        assertTrue(onDyingNode.join(doc, "alice", "a1", Optional.empty()));
        survivor.join(doc, "bob", "b1", Optional.empty());
        assertEquals(List.of("alice", "bob"), survivor.members(doc).stream().map(Member::user).toList());
        dying.shutdown(); // no leave, no heartbeat any more

        long started = System.nanoTime();
        List<String> gone = List.of();
        while (gone.isEmpty()) {
            survivor.heartbeat(doc, "bob", "b1");
            gone = survivor.expire(doc);
            TimeUnit.MILLISECONDS.sleep(50);
        }
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(List.of("alice"), gone);
        assertTrue(waited < 600 + 3000, "alice went within the TTL (plus polling): " + waited + " ms");
        assertEquals(List.of("bob"), survivor.members(doc).stream().map(Member::user).toList());
    }

    @Test
    void scriptsRunAgainAfterRedisForgotThem() {
        ChannelKey doc = key("doc:note:flushed");
        assertTrue(store.join(doc, "alice", "a1", Optional.empty()));
        nodeA.getScript().scriptFlush(); // as after a Redis restart: NOSCRIPT for every cached SHA
        assertTrue(store.join(doc, "bob", "b1", Optional.empty()));
        assertEquals(List.of("alice", "bob"), store.members(doc).stream().map(Member::user).toList());
        assertTrue(store.leave(doc, "alice", "a1"));
    }

    @Test
    void keysAreTenantScopedHashTaggedAndExpireAsABackstop() {
        ChannelKey doc = key("doc:note:n9");
        store.join(doc, "alice", "a1", Optional.empty());
        String base = "tandem:{" + tenant + "/doc:note:n9}:presence";
        assertEquals(base, RedisPresenceStore.users(doc));
        assertEquals(3, nodeA.getKeys().countExists(base, base + ":u:alice", base + ":seen"));
        long ttl = nodeA.getKeys().remainTimeToLive(base + ":u:alice");
        assertTrue(ttl > 0 && ttl <= TTL.toMillis() * RedisPresenceStore.KEY_TTL_FACTOR, "backstop expiry: " + ttl);
    }
}
