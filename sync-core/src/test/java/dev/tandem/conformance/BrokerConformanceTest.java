package dev.tandem.conformance;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The conformance suite of the {@link Broker} port: every adapter (the in-memory one here, the
 * Redis one of the queue module) extends it and so is held to the same contract: gap-free
 * increasing offsets per channel and epoch, ordered at-most-once delivery per subscription,
 * bounded history and recovery on subscribe with no gap and no duplicate, and tenant isolation.
 *
 * <p>Adapters implement {@link #createBroker}; the hooks ({@link #deliveryTimeout},
 * {@link #destroyBroker}) adjust the suite to asynchronous brokers.
 * Cross-node cases belong to the cluster suite that comes with the Redis broker. The suite never assumes that delivery happens on the publisher's thread: it waits
 * for deliveries, and proves the absence of one with a later publication on the same channel
 * (delivery is in offset order). Each test works in a tenant of its own, so adapters backed by
 * a shared store need no cleanup between tests.
 *
 * <p>The rules given to {@link #createBroker} are the built-in namespaces plus {@code small}
 * (history of {@value #SMALL_HISTORY}), {@code nohist} (no history) and {@code big} (history
 * of {@value #BIG_HISTORY}).
 */
public abstract class BrokerConformanceTest {
    /** History size of the {@code small} namespace. */
    protected static final int SMALL_HISTORY = 3;
    /** History size of the {@code big} namespace. */
    protected static final int BIG_HISTORY = 5000;

    /** The codec the hub encodes with. */
    protected final FrameCodec codec = FrameCodec.create();
    /** The rules of the suite. */
    protected ChannelRules rules;
    /** This node's hub. */
    protected Hub hub;
    /** The broker under test. */
    protected Broker broker;
    /** A tenant of this test's own. */
    protected String tenant;

    /**
     * Creates the broker under test, delivering to {@code hub} and taking history bounds from
     * {@code rules}.
     */
    protected abstract Broker createBroker(Hub hub, ChannelRules rules);

    /** Releases a broker made by {@link #createBroker} (default: close it). */
    protected void destroyBroker(Broker broker) {
        broker.close();
    }

    /** How long to wait for a delivery (asynchronous brokers may need more). */
    protected Duration deliveryTimeout() {
        return Duration.ofSeconds(5);
    }

    /** The channel rules of the suite. */
    protected ChannelRules createRules() {
        return ChannelRules.create(Config.just(ConfigSources.create(Map.of(
                "namespaces.small.history-size", String.valueOf(SMALL_HISTORY),
                "namespaces.nohist.history-size", "0",
                "namespaces.big.history-size", String.valueOf(BIG_HISTORY)))));
    }

    @BeforeEach
    void setUpBroker() {
        rules = createRules();
        hub = new Hub(codec, Telemetry.NOOP);
        tenant = newTenant();
        broker = createBroker(hub, rules);
    }

    @AfterEach
    void tearDownBroker() {
        if (broker != null) {
            destroyBroker(broker);
        }
    }

    // ------------------------------------------------------------------ offsets

    @Test
    void offsetsStartAtOneAndIncreaseByOneInTheChannelsEpoch() {
        ChannelKey ch = key("location:wh-1");
        Position start = broker.top(ch);
        assertEquals(0, start.offset());
        for (int i = 1; i <= 5; i++) {
            Publication p = broker.publish(ch, draft("n", i));
            assertEquals(new Position(start.epoch(), i), p.position().orElseThrow());
        }
        assertEquals(new Position(start.epoch(), 5), broker.top(ch));
    }

    @Test
    void theAcceptedPublicationCarriesTheDraft() {
        ChannelKey ch = key("location:wh-1");
        JsonNode data = codec.parse("{\"sku\":\"A-1\",\"qty\":7}");
        Publication given = broker.publish(ch, new Draft("stock.updated", data, false, Optional.of("evt-1"),
                Optional.of("alice")));
        assertEquals(ch, given.channel());
        assertEquals("stock.updated", given.type());
        assertEquals("evt-1", given.eventId());
        assertEquals(Optional.of("alice"), given.from());
        assertEquals(data, given.data());

        Publication generated = broker.publish(ch, Draft.durable("stock.updated", data));
        assertFalse(generated.eventId().isBlank());
        assertNotEquals(given.eventId(), generated.eventId());
        assertEquals(Optional.empty(), generated.from());
    }

    @Test
    void publishingWithoutSubscribersStillNumbersAndKeepsPublications() {
        ChannelKey ch = key("location:wh-1");
        broker.publish(ch, draft("n", 1));
        broker.publish(ch, draft("n", 2));
        Position top = broker.top(ch);
        assertEquals(2, top.offset());

        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.of(new Position(top.epoch(), 0)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(1L, 2L), offsets(rec.missed()));
        assertEquals(List.of(1, 2), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
    }

    @Test
    @Timeout(60)
    void concurrentPublishersGetDistinctGapFreeOffsetsAndSubscribersSeeThemInOrder() throws Exception {
        ChannelKey ch = key("big:hot");
        Recorder a = subscribeLive(ch);
        Recorder b = subscribeLive(ch);
        int threads = 4;
        int each = 250;
        int total = threads * each;
        ConcurrentLinkedQueue<Long> issued = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        issued.add(broker.publish(ch, draft("t" + thread, i)).position().orElseThrow().offset());
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Long> expected = LongStream.rangeClosed(1, total).boxed().toList();
        assertEquals(total, issued.size());
        assertEquals(expected, new ArrayList<>(new TreeSet<>(issued)), "offsets are distinct and gap-free");
        assertEquals(expected, offsets(a.await(total)));
        assertEquals(expected, offsets(b.await(total)));
        assertEquals(total, broker.top(ch).offset());
        // and each publisher's own publications stay in its order
        for (int t = 0; t < threads; t++) {
            String field = "t" + t;
            List<Integer> mine = a.received().stream().filter(p -> p.data().has(field))
                    .map(p -> p.data().get(field).asInt()).toList();
            assertEquals(java.util.stream.IntStream.range(0, each).boxed().toList(), mine);
        }
    }

    // ------------------------------------------------------------------ delivery

    @Test
    void everySubscriberReceivesEachPublicationOnceInOffsetOrderAsTheSameEventFrame() {
        ChannelKey ch = key("location:wh-1");
        Recorder a = subscribeLive(ch);
        Recorder b = subscribeLive(ch);
        List<Publication> published = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            published.add(broker.publish(ch, draft("n", i)));
        }
        List<Long> expected = LongStream.rangeClosed(1, 20).boxed().toList();
        assertEquals(expected, offsets(a.await(20)));
        assertEquals(expected, offsets(b.await(20)));
        for (int i = 0; i < 20; i++) {
            ServerFrame.Event event = (ServerFrame.Event) codec.decodeServer(a.frames().get(i));
            assertEquals("location:wh-1", event.channel(), "frames name the channel without the tenant");
            assertEquals(published.get(i).position(), event.position());
            assertEquals(published.get(i).eventId(), event.eventId());
            assertEquals(i + 1, event.data().get("n").asInt());
            assertEquals(a.frames().get(i), b.frames().get(i));
        }
    }

    @Test
    void ephemeralPublicationsHaveNoPositionAndAreNotKeptInHistory() {
        ChannelKey ch = key("location:wh-1");
        Recorder live = subscribeLive(ch);
        Publication first = broker.publish(ch, draft("n", 1));
        Publication typing = broker.publish(ch, new Draft("typing", codec.object(), true, Optional.empty(),
                Optional.of("alice")));
        Publication second = broker.publish(ch, draft("n", 2));

        assertEquals(Optional.empty(), typing.position());
        assertEquals(1, first.position().orElseThrow().offset());
        assertEquals(2, second.position().orElseThrow().offset(), "an ephemeral publication takes no offset");
        assertEquals(2, broker.top(ch).offset());

        List<Publication> got = live.await(3);
        assertEquals(List.of("test.event", "typing", "test.event"), got.stream().map(Publication::type).toList(),
                "ephemeral publications are delivered live, in order");
        ServerFrame.Event frame = (ServerFrame.Event) codec.decodeServer(live.frames().get(1));
        assertEquals(Optional.empty(), frame.position());
        assertEquals(Optional.of("alice"), frame.from());

        Recorder late = new Recorder();
        Recovery rec = broker.subscribe(ch, late, Optional.of(new Position(first.position().get().epoch(), 0)),
                late.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(1L, 2L), offsets(rec.missed()));
    }

    @Test
    void unsubscribeStopsDelivery() {
        ChannelKey ch = key("location:wh-1");
        Recorder leaving = subscribeLive(ch);
        Recorder staying = subscribeLive(ch);
        broker.publish(ch, draft("n", 1));
        leaving.await(1);
        staying.await(1);

        broker.unsubscribe(ch, leaving);
        broker.publish(ch, draft("n", 2));
        broker.publish(ch, draft("n", 3));
        staying.await(3);
        assertEquals(List.of(1L), offsets(leaving.received()));

        broker.unsubscribe(ch, leaving); // again: ignored
        broker.unsubscribe(key("location:never-used"), new Recorder()); // unknown: ignored
    }

    @Test
    void aSubscriberOnTwoChannelsGetsEachChannelsOwnOffsets() {
        ChannelKey one = key("location:wh-1");
        ChannelKey two = key("location:wh-2");
        Recorder r = new Recorder();
        broker.subscribe(one, r, Optional.empty(), r.beforeLive());
        broker.subscribe(two, r, Optional.empty(), x -> { });
        broker.publish(one, draft("n", 1));
        broker.publish(two, draft("n", 1));
        broker.publish(one, draft("n", 2));
        List<Publication> got = r.await(3);
        assertEquals(List.of(1L, 2L), offsets(got.stream().filter(p -> p.channel().equals(one)).toList()));
        assertEquals(List.of(1L), offsets(got.stream().filter(p -> p.channel().equals(two)).toList()));
    }

    // ------------------------------------------------------------------ recovery

    @Test
    void subscribingWithoutAPositionReportsTheTopAndRecoversNothing() {
        ChannelKey ch = key("location:wh-1");
        broker.publish(ch, draft("n", 1));
        broker.publish(ch, draft("n", 2));
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.empty(), r.beforeLive());
        assertEquals(broker.top(ch), rec.top());
        assertEquals(2, rec.top().offset());
        assertEquals(List.of(), rec.missed());
        assertFalse(rec.recovered());
        assertEquals(1, r.beforeLiveCalls());
        assertEquals(rec, r.recovery());
    }

    @Test
    void replaysMissedPublicationsAfterAGivenPositionThenGoesLive() {
        ChannelKey ch = key("location:wh-1");
        for (int i = 1; i <= 5; i++) {
            broker.publish(ch, draft("n", i));
        }
        String epoch = broker.top(ch).epoch();
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.of(new Position(epoch, 2)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(new Position(epoch, 5), rec.top());
        assertEquals(List.of(3L, 4L, 5L), offsets(rec.missed()));
        assertEquals(List.of(3, 4, 5), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
        assertEquals(1, r.beforeLiveCalls());
        assertEquals(rec, r.recovery(), "beforeLive gets the same recovery");

        broker.publish(ch, draft("n", 6));
        assertEquals(List.of(3L, 4L, 5L, 6L), offsets(r.await(4)));
        assertEquals(0, r.earlyDeliveries(), "nothing was delivered before beforeLive");
        assertEquals(1, r.beforeLiveCalls());
    }

    @Test
    void aPositionAtTheTopIsRecoveredWithNothingMissed() {
        ChannelKey ch = key("location:wh-1");
        broker.publish(ch, draft("n", 1));
        Position top = broker.top(ch);
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.of(top), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(), rec.missed());
        assertEquals(top, rec.top());
    }

    @Test
    void offsetZeroOfAnUnusedChannelIsRecovered() {
        ChannelKey ch = key("location:fresh");
        Position top = broker.top(ch);
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.of(new Position(top.epoch(), 0)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(), rec.missed());
        broker.publish(ch, draft("n", 1));
        assertEquals(List.of(1L), offsets(r.await(1)));
    }

    @Test
    void aPositionOlderThanTheHistoryIsNotRecovered() {
        ChannelKey ch = key("small:s1");
        for (int i = 1; i <= 10; i++) {
            broker.publish(ch, draft("n", i));
        }
        String epoch = broker.top(ch).epoch();
        // the history keeps offsets 8, 9, 10: a client at 7 misses only those, one at 6 misses 7 too
        Recorder tooOld = new Recorder();
        Recovery lost = broker.subscribe(ch, tooOld, Optional.of(new Position(epoch, 6)), tooOld.beforeLive());
        assertFalse(lost.recovered());
        assertEquals(List.of(), lost.missed());
        assertEquals(new Position(epoch, 10), lost.top());

        Recorder veryOld = new Recorder();
        Recovery gone = broker.subscribe(ch, veryOld, Optional.of(new Position(epoch, 0)), veryOld.beforeLive());
        assertFalse(gone.recovered());
        assertEquals(List.of(), gone.missed());

        Recorder justInTime = new Recorder();
        Recovery kept = broker.subscribe(ch, justInTime, Optional.of(new Position(epoch, 7)), justInTime.beforeLive());
        assertTrue(kept.recovered());
        assertEquals(List.of(8L, 9L, 10L), offsets(kept.missed()));

        // an unrecovered subscription is still live from the top on
        broker.publish(ch, draft("n", 11));
        assertEquals(List.of(11L), offsets(tooOld.await(1)));
    }

    @Test
    void aNamespaceWithoutHistoryNumbersPublicationsButReplaysNothing() {
        ChannelKey ch = key("nohist:n1");
        for (int i = 1; i <= 3; i++) {
            assertEquals(i, broker.publish(ch, draft("n", i)).position().orElseThrow().offset());
        }
        String epoch = broker.top(ch).epoch();
        Recorder r = new Recorder();
        Recovery behind = broker.subscribe(ch, r, Optional.of(new Position(epoch, 2)), r.beforeLive());
        assertFalse(behind.recovered());
        assertEquals(List.of(), behind.missed());

        Recorder upToDate = new Recorder();
        Recovery current = broker.subscribe(ch, upToDate, Optional.of(new Position(epoch, 3)), upToDate.beforeLive());
        assertTrue(current.recovered(), "nothing was missed, so nothing needs to be replayed");
    }

    @Test
    void aPositionFromAnotherEpochIsNotRecovered() {
        ChannelKey ch = key("location:wh-1");
        broker.publish(ch, draft("n", 1));
        broker.publish(ch, draft("n", 2));
        Position top = broker.top(ch);
        String otherEpoch = top.epoch() + "x";
        for (long offset : new long[] {0, 1, 2, 99}) {
            Recorder r = new Recorder();
            Recovery rec = broker.subscribe(ch, r, Optional.of(new Position(otherEpoch, offset)), r.beforeLive());
            assertFalse(rec.recovered(), "offset " + offset + " of another epoch");
            assertEquals(List.of(), rec.missed());
            assertEquals(top, rec.top(), "the reply tells the client the current epoch");
            assertEquals(1, r.beforeLiveCalls());
        }
    }

    @Test
    void aPositionAheadOfTheTopIsABadRequestAndSubscribesNothing() {
        ChannelKey ch = key("location:wh-1");
        broker.publish(ch, draft("n", 1));
        broker.publish(ch, draft("n", 2));
        String epoch = broker.top(ch).epoch();
        Recorder refused = new Recorder();
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> broker.subscribe(ch, refused, Optional.of(new Position(epoch, 3)), refused.beforeLive()));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals(0, refused.beforeLiveCalls());

        Recorder witness = subscribeLive(ch);
        broker.publish(ch, draft("n", 3));
        witness.await(1);
        assertEquals(List.of(), refused.received(), "a refused subscription receives nothing");
    }

    @Test
    @Timeout(60)
    void aPublicationConcurrentWithSubscribeIsNeitherLostNorDuplicated() throws Exception {
        int iterations = 150;
        int perIteration = 20;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            for (int it = 0; it < iterations; it++) {
                ChannelKey ch = key("location:race-" + it);
                String epoch = broker.top(ch).epoch();
                boolean resume = it % 2 == 0;
                CountDownLatch started = new CountDownLatch(1);
                int subscribeAfter = ThreadLocalRandom.current().nextInt(perIteration);
                Future<?> publisher = pool.submit(() -> {
                    for (int i = 1; i <= perIteration; i++) {
                        if (i == subscribeAfter + 1) {
                            started.countDown();
                        }
                        broker.publish(ch, draft("n", i));
                    }
                    started.countDown();
                    return null;
                });
                started.await(5, TimeUnit.SECONDS);
                Recorder r = new Recorder();
                Recovery rec = broker.subscribe(ch, r, resume ? Optional.of(new Position(epoch, 0)) : Optional.empty(),
                        r.beforeLive());
                publisher.get(10, TimeUnit.SECONDS);

                long first = resume ? 1 : rec.top().offset() + 1;
                List<Long> expected = LongStream.rangeClosed(first, perIteration).boxed().toList();
                List<Publication> got = r.await(expected.size());
                // one more publication proves nothing else was on its way
                broker.publish(ch, draft("n", perIteration + 1));
                got = r.await(expected.size() + 1);
                List<Long> all = new ArrayList<>(expected);
                all.add((long) perIteration + 1);
                assertEquals(all, offsets(got), "iteration " + it + (resume ? " (resuming)" : " (live)"));
                assertEquals(resume, rec.recovered());
                assertEquals(1, r.beforeLiveCalls());
                assertEquals(0, r.earlyDeliveries(), "iteration " + it + ": a live delivery overtook beforeLive");
                broker.unsubscribe(ch, r);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ tenants

    @Test
    void tenantsAreIsolated() {
        ChannelKey mine = key("location:wh-1");
        ChannelKey theirs = rules.resolve(newTenant(), "location:wh-1");
        assertEquals(mine.name(), theirs.name());
        Recorder mineSub = subscribeLive(mine);
        Recorder theirsSub = subscribeLive(theirs);

        for (int i = 1; i <= 3; i++) {
            broker.publish(mine, draft("n", i));
        }
        Publication other = broker.publish(theirs, draft("n", 100));
        assertEquals(1, other.position().orElseThrow().offset(), "the other tenant's channel has its own offsets");
        assertEquals(3, broker.top(mine).offset());
        assertEquals(1, broker.top(theirs).offset());

        // a later publication on each proves everything before it was delivered
        broker.publish(mine, draft("n", 4));
        broker.publish(theirs, draft("n", 101));
        assertEquals(List.of(1L, 2L, 3L, 4L), offsets(mineSub.await(4)));
        assertEquals(List.of(1L, 2L), offsets(theirsSub.await(2)));
        assertTrue(mineSub.received().stream().allMatch(p -> p.channel().equals(mine)));
        assertTrue(theirsSub.received().stream().allMatch(p -> p.channel().equals(theirs)));

        Recorder replay = new Recorder();
        Recovery rec = broker.subscribe(theirs, replay, Optional.of(new Position(broker.top(theirs).epoch(), 0)),
                replay.beforeLive());
        assertEquals(List.of(100, 101), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
    }

    @Test
    void aRedeliveredSourceEventKeepsItsOffsetAndIsDeliveredOnce() {
        ChannelKey ch = key("location:wh-1");
        Recorder live = subscribeLive(ch);
        Draft first = new Draft("stock.updated", codec.object().put("n", 1), false, Optional.of("src-1"), Optional.empty());
        Publication p1 = broker.publish(ch, first);
        Publication again = broker.publish(ch, first);
        Publication p2 = broker.publish(ch, new Draft("stock.updated", codec.object().put("n", 2), false,
                Optional.of("src-2"), Optional.empty()));
        assertEquals(p1.position(), again.position(), "the redelivery keeps the first offset");
        assertEquals(List.of(1L, 2L), offsets(live.await(2)));
        assertEquals(2, p2.position().orElseThrow().offset());
        assertEquals(List.of("src-1", "src-2"), live.received().stream().map(Publication::eventId).toList());
        assertEquals(2, broker.top(ch).offset());
    }

    // ------------------------------------------------------------------ helpers

    /** A tenant id no other test uses. */
    protected static String newTenant() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return "t-" + HexFormat.of().formatHex(b);
    }

    /** The channel {@code name} in this test's tenant. */
    protected ChannelKey key(String name) {
        return rules.resolve(tenant, name);
    }

    /** A durable draft with {@code {"field": value}} as data. */
    protected Draft draft(String field, int value) {
        return Draft.durable("test.event", codec.object().put(field, value));
    }

    /** Subscribes a new recorder without a position. */
    protected Recorder subscribeLive(ChannelKey channel) {
        Recorder r = new Recorder();
        broker.subscribe(channel, r, Optional.empty(), r.beforeLive());
        return r;
    }

    /** The offsets of durable publications, in order. */
    protected static List<Long> offsets(List<Publication> publications) {
        return publications.stream().map(p -> p.position().orElseThrow().offset()).toList();
    }

    /**
     * A subscriber that records what it gets, the way a session does: the recovery's missed
     * publications first (from {@code beforeLive}), then live ones.
     */
    public final class Recorder implements Subscriber {
        private final List<Publication> received = new ArrayList<>();
        private final List<String> frames = new ArrayList<>();
        private final AtomicInteger beforeLiveCalls = new AtomicInteger();
        private final AtomicInteger early = new AtomicInteger();
        private volatile Recovery recovery;

        @Override
        public synchronized void deliver(Publication publication, Encoded frame) {
            if (beforeLiveCalls.get() == 0) {
                early.incrementAndGet();
            }
            received.add(publication);
            frames.add(frame.text());
            notifyAll();
        }

        /** The callback to give to {@link Broker#subscribe}. */
        public Consumer<Recovery> beforeLive() {
            return rec -> {
                synchronized (this) {
                    beforeLiveCalls.incrementAndGet();
                    recovery = rec;
                    for (Publication p : rec.missed()) {
                        received.add(p);
                        frames.add(hub.encode(p));
                    }
                    notifyAll();
                }
            };
        }

        /** Waits until at least {@code n} publications were received, and returns them all. */
        public synchronized List<Publication> await(int n) {
            long deadline = System.nanoTime() + deliveryTimeout().toNanos();
            while (received.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + n + " publications, got " + received.size() + ": " + offsetsOrTypes());
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

        /** What was received so far. */
        public synchronized List<Publication> received() {
            return List.copyOf(received);
        }

        /** The encoded frames received so far. */
        public synchronized List<String> frames() {
            return List.copyOf(frames);
        }

        /** How often beforeLive ran. */
        public int beforeLiveCalls() {
            return beforeLiveCalls.get();
        }

        /** Live deliveries that came before beforeLive ran. */
        public int earlyDeliveries() {
            return early.get();
        }

        /** The recovery beforeLive got. */
        public Recovery recovery() {
            return recovery;
        }

        private String offsetsOrTypes() {
            return received.stream().map(p -> p.position().map(pos -> String.valueOf(pos.offset())).orElse(p.type()))
                    .toList().toString();
        }
    }
}
