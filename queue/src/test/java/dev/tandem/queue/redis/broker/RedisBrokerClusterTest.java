package dev.tandem.queue.redis.broker;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;

import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.Wire;
import dev.tandem.queue.redis.RedisClients;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Two gateway nodes (two {@link RedisBroker}s, each with its own Redisson client and hub) on
 * one Redis: the cross-node guarantees of the cluster mode.
 */
class RedisBrokerClusterTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static RedissonClient clientA;
    private static RedissonClient clientB;

    private final FrameCodec codec = FrameCodec.create();
    private final ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of(
            "namespaces.big.history-size", "5000"))));
    private final String tenant = "t-" + HexFormat.of().formatHex(randomBytes());
    private RedisBroker nodeA;
    private RedisBroker nodeB;

    @BeforeAll
    static void connect() {
        clientA = RedisClients.create();
        clientB = RedisClients.create();
    }

    @AfterAll
    static void disconnect() {
        clientA.shutdown();
        clientB.shutdown();
    }

    @BeforeEach
    void startNodes() {
        nodeA = new RedisBroker(clientA, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP, Clock.systemUTC());
        nodeB = new RedisBroker(clientB, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP, Clock.systemUTC());
    }

    @AfterEach
    void stopNodes() {
        nodeA.close();
        nodeB.close();
    }

    @Test
    @Timeout(60)
    void publicationsFromBothNodesReachSubscribersOnBothInOneGapFreeOrder() throws Exception {
        ChannelKey ch = key("big:shared");
        Recorder onA = new Recorder();
        Recorder onB = new Recorder();
        nodeA.subscribe(ch, onA, Optional.empty(), onA::beforeLive);
        nodeB.subscribe(ch, onB, Optional.empty(), onB::beforeLive);
        int each = 300;
        ConcurrentLinkedQueue<Long> issued = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> publishers = new ArrayList<>();
            for (RedisBroker node : List.of(nodeA, nodeB)) {
                String field = node == nodeA ? "a" : "b";
                publishers.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        issued.add(node.publish(ch, draft(field, i)).position().orElseThrow().offset());
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : publishers) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Long> expected = LongStream.rangeClosed(1, 2L * each).boxed().toList();
        assertEquals(expected, new ArrayList<>(new TreeSet<>(issued)), "offsets are distinct and gap-free");
        List<Publication> seenOnA = onA.await(2 * each);
        List<Publication> seenOnB = onB.await(2 * each);
        assertEquals(expected, offsets(seenOnA));
        assertEquals(expected, offsets(seenOnB));
        assertEquals(seenOnA.stream().map(Publication::eventId).toList(),
                seenOnB.stream().map(Publication::eventId).toList(), "both nodes see one and the same order");
        for (String field : List.of("a", "b")) {
            assertEquals(java.util.stream.IntStream.range(0, each).boxed().toList(), seenOnA.stream()
                    .filter(p -> p.data().has(field)).map(p -> p.data().get(field).asInt()).toList(),
                    "each node's publications keep their order");
        }
    }

    @Test
    void aSubscriberOnNodeARecoversWhatNodeBPublishedWhileItWasAway() {
        ChannelKey ch = key("location:wh-7");
        Recorder first = new Recorder();
        nodeA.subscribe(ch, first, Optional.empty(), first::beforeLive);
        for (int i = 1; i <= 3; i++) {
            nodeB.publish(ch, draft("n", i));
        }
        Position seen = first.await(3).get(2).position().orElseThrow();
        nodeA.unsubscribe(ch, first); // the client's train enters a tunnel

        for (int i = 4; i <= 8; i++) {
            nodeB.publish(ch, draft("n", i));
        }
        Recorder back = new Recorder();
        Recovery rec = nodeA.subscribe(ch, back, Optional.of(seen), back::beforeLive);
        assertTrue(rec.recovered());
        assertEquals(List.of(4L, 5L, 6L, 7L, 8L), offsets(rec.missed()));
        assertEquals(List.of(4, 5, 6, 7, 8), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
        assertEquals(new Position(seen.epoch(), 8), rec.top());

        nodeB.publish(ch, draft("n", 9));
        assertEquals(List.of(4L, 5L, 6L, 7L, 8L, 9L), offsets(back.await(6)));
        assertEquals(List.of(1L, 2L, 3L), offsets(first.received()), "the old subscription got nothing more");
    }

    @Test
    @Timeout(60)
    void resumingOnOneNodeWhileTheOtherKeepsPublishingMissesAndRepeatsNothing() throws Exception {
        for (int round = 0; round < 20; round++) {
            ChannelKey ch = key("location:busy-" + round);
            String epoch = nodeA.top(ch).epoch();
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            Future<Long> publishing = pool.submit(() -> {
                long n = 0;
                while (!stop.get() || n < 10) {
                    n = nodeB.publish(ch, draft("n", (int) n + 1)).position().orElseThrow().offset();
                }
                return n;
            });
            try {
                while (nodeA.top(ch).offset() < 5) {
                    Thread.onSpinWait();
                }
                Recorder r = new Recorder();
                Recovery rec = nodeA.subscribe(ch, r, Optional.of(new Position(epoch, 2)), r::beforeLive);
                assertTrue(rec.recovered());
                stop.set(true);
                long last = publishing.get(10, TimeUnit.SECONDS) + 1;
                // one more publication proves nothing else was on its way
                assertEquals(last, nodeB.publish(ch, draft("n", 0)).position().orElseThrow().offset());
                assertEquals(LongStream.rangeClosed(3, last).boxed().toList(), offsets(r.await((int) last - 2)),
                        "round " + round);
                nodeA.unsubscribe(ch, r);
            } finally {
                stop.set(true);
                pool.shutdownNow();
            }
        }
    }

    @Test
    void deletedChannelKeysStartANewEpochAndOldPositionsAreNotRecovered() {
        ChannelKey ch = key("location:flushed");
        Recorder live = new Recorder();
        nodeB.subscribe(ch, live, Optional.empty(), live::beforeLive);
        nodeA.publish(ch, draft("n", 1));
        Position before = nodeA.publish(ch, draft("n", 2)).position().orElseThrow();
        live.await(2);

        clientA.getKeys().delete(Keys.meta(ch), Keys.log(ch)); // as if Redis had been flushed

        Position after = nodeB.top(ch);
        assertNotEquals(before.epoch(), after.epoch(), "a new epoch");
        assertEquals(0, after.offset());
        Recorder back = new Recorder();
        Recovery rec = nodeA.subscribe(ch, back, Optional.of(before), back::beforeLive);
        assertFalse(rec.recovered());
        assertEquals(List.of(), rec.missed());
        assertEquals(after, rec.top(), "the reply names the new epoch");

        Publication next = nodeA.publish(ch, draft("n", 3));
        assertEquals(new Position(after.epoch(), 1), next.position().orElseThrow());
        assertEquals(next.position(), back.await(1).getFirst().position());
        assertEquals(next.position(), live.await(3).get(2).position(),
                "a node already listening follows the channel into its new epoch");
    }

    @Test
    void liveMessagesLostOnTheWayAreFilledFromTheHistoryInOrder() {
        ChannelKey ch = key("location:lossy");
        Recorder r = new Recorder();
        nodeA.subscribe(ch, r, Optional.empty(), r::beforeLive);
        nodeB.publish(ch, draft("n", 1));
        r.await(1);
        // offsets 2 and 3 are taken and kept, but their pub/sub messages never arrive
        Wire wire = new Wire(codec.mapper());
        for (int i = 2; i <= 3; i++) {
            String body = wire.body("test.event", "lost-" + i, true, java.time.Instant.now(), Optional.empty(),
                    codec.object().put("n", i));
            clientB.getScript(org.redisson.client.codec.StringCodec.INSTANCE).eval(
                    org.redisson.api.RScript.Mode.READ_WRITE, """
                            local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
                            redis.call('XADD', KEYS[2], top .. '-0', 'p', ARGV[1])
                            return top
                            """, org.redisson.api.RScript.ReturnType.LONG, java.util.List.of(Keys.meta(ch), Keys.log(ch)), body);
        }
        nodeB.publish(ch, draft("n", 4));
        List<Publication> got = r.await(4);
        assertEquals(List.of(1L, 2L, 3L, 4L), offsets(got));
        assertEquals(List.of(1, 2, 3, 4), got.stream().map(p -> p.data().get("n").asInt()).toList());
        nodeB.publish(ch, draft("n", 5));
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), offsets(r.await(5)), "and nothing twice");
    }

    @Test
    void channelKeysAreTenantScopedAndHashTagged() {
        ChannelKey mine = key("location:wh-1");
        ChannelKey theirs = rules.resolve("t-other-" + HexFormat.of().formatHex(randomBytes()), "location:wh-1");
        nodeA.publish(mine, draft("n", 1));
        nodeA.publish(mine, draft("n", 2));
        nodeB.publish(theirs, draft("n", 1));
        assertEquals("tandem:{" + tenant + "/location:wh-1}:meta", Keys.meta(mine));
        assertEquals(2, clientA.getKeys().countExists(Keys.meta(mine), Keys.log(mine)));
        assertEquals(2, nodeB.top(mine).offset());
        assertEquals(1, nodeA.top(theirs).offset());
    }

    @Test
    void aNodeListensToAChannelOnlyWhileItHasLocalSubscribers() {
        ChannelKey ch = key("location:wh-2");
        Recorder one = new Recorder();
        Recorder two = new Recorder();
        nodeA.subscribe(ch, one, Optional.empty(), one::beforeLive);
        nodeA.subscribe(ch, two, Optional.empty(), two::beforeLive);
        assertEquals(1, nodeA.listening());
        assertEquals(0, nodeB.listening());
        nodeA.unsubscribe(ch, one);
        assertEquals(1, nodeA.listening());
        nodeA.unsubscribe(ch, two);
        assertEquals(0, nodeA.listening());
    }

    // ------------------------------------------------------------------ helpers

    private ChannelKey key(String name) {
        return rules.resolve(tenant, name);
    }

    private Draft draft(String field, int value) {
        return Draft.durable("test.event", codec.object().put(field, value));
    }

    private static byte[] randomBytes() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static List<Long> offsets(List<Publication> publications) {
        return publications.stream().map(p -> p.position().orElseThrow().offset()).toList();
    }

    /** Records the recovery's publications, then live ones, like a session. */
    private static final class Recorder implements Subscriber {
        private final List<Publication> received = new ArrayList<>();

        @Override
        public synchronized void deliver(Publication publication, Encoded frame) {
            received.add(publication);
            notifyAll();
        }

        synchronized void beforeLive(Recovery recovery) {
            received.addAll(recovery.missed());
            notifyAll();
        }

        synchronized List<Publication> received() {
            return List.copyOf(received);
        }

        synchronized List<Publication> await(int n) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (received.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + n + " publications, got " + received.size());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            return List.copyOf(received);
        }
    }
}
