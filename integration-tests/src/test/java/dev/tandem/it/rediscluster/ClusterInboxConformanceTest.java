package dev.tandem.it.rediscluster;

import java.time.Clock;
import java.time.Duration;

import dev.tandem.channel.ChannelKey;
import dev.tandem.inbox.Inbox;
import dev.tandem.conformance.InboxConformanceTest;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.inbox.RedisInbox;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The inbox conformance suite on a three-master Redis Cluster; "another node" has its own client. */
class ClusterInboxConformanceTest extends InboxConformanceTest {
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
    protected Inbox createInbox(Duration ttl, Clock clock) {
        return new RedisInbox(nodeA, ttl, clock);
    }

    @Override
    protected Inbox otherNode(Inbox inbox) {
        return new RedisInbox(nodeB, inbox.ttl(), clock);
    }

    @Test
    void aUsersInboxSharesTheSlotOfTheUsersChannel() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        int slot = ConformanceCluster.get().slot(Keys.meta(bob));
        for (String key : new String[] {Keys.log(bob), Keys.ids(bob), Keys.live(bob), Keys.inbox(bob),
                Keys.inboxMeta(bob), Keys.inboxOrder(bob)}) {
            assertEquals(slot, ConformanceCluster.get().slot(key), key);
        }
    }
}
