package dev.tandem.queue.redis.inbox;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

import dev.tandem.channel.ChannelKey;
import dev.tandem.inbox.Inbox;
import dev.tandem.conformance.InboxConformanceTest;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.RedisClients;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The inbox conformance suite against {@link RedisInbox}; "another node" has its own client. */
class RedisInboxTest extends InboxConformanceTest {
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
    protected Inbox createInbox(Duration ttl, Clock clock) {
        return new RedisInbox(nodeA, ttl, clock);
    }

    @Override
    protected Inbox otherNode(Inbox inbox) {
        return new RedisInbox(nodeB, inbox.ttl(), clock);
    }

    @Test
    void theInboxLivesInTheUsersTenantScopedKeysWhichExpireAfterTheTtl() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        String stream = "tandem:{" + tenant + "/user:bob}:inbox";
        assertEquals(stream, Keys.inbox(bob));
        assertEquals(2, nodeA.getKeys().countExists(stream, stream + ":meta"));
        long ttl = nodeA.getKeys().remainTimeToLive(stream);
        assertTrue(ttl > 0 && ttl <= TTL.toMillis(), "the keys expire a TTL after the last append: " + ttl);
        assertEquals(List.of(1L), offsets(inbox.pending(tenant, "bob")));
    }

    @Test
    void aLostMetaHashContinuesAfterTheStreamsNewestEntry() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 5));
        nodeA.getKeys().delete(Keys.inboxMeta(bob));
        inbox.append(bob, message(bob, "e1", 6));
        assertEquals(List.of(5L, 6L), offsets(inbox.pending(tenant, "bob")));
    }
}
