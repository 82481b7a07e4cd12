package dev.tandem.session;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import dev.tandem.channel.ChannelRules;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A namespace with {@code batch-max-delay} and {@code batch-max-size}: its publications reach
 * each subscriber together, in one write, in order and with their offsets.
 */
class BatchingTest {
    private static final String BOB = token("bob", "acme");
    private static final String CAROL = token("carol", "acme");
    private Harness h;

    @AfterEach
    void close() {
        if (h != null) {
            h.close();
        }
    }

    /** A harness whose {@code ticker} namespace batches (and {@code tenant} does not). */
    private void harness(String delay, int size) {
        h = new Harness(SessionLimits.DEFAULTS, ChannelRules.create(Config.just(ConfigSources.create("""
                namespaces:
                  ticker:
                    subscribe: any
                    batch-max-delay: %s
                    batch-max-size: %d
                """.formatted(delay, size), MediaTypes.create("application/x-yaml")))));
    }

    private Harness.Client subscribed(String token, long id, String channel) {
        Harness.Client c = h.connected(token);
        c.send(new ClientFrame.Subscribe(id, channel, Optional.empty(), false));
        c.t.reply(id);
        // a frame that finds the reply's writer still in its turn leaves in that turn, unbatched
        awaitAtRest(c);
        return c;
    }

    private void publish(String channel, int i) {
        h.publish("acme", channel, "tick", JsonNodeFactory.instance.objectNode().put("i", i));
    }

    /** The next {@code n} events, which must be the channel's offsets {@code from} on, in order. */
    private static void assertEvents(Harness.Client c, String channel, long from, int n) {
        String epoch = null;
        for (int k = 0; k < n; k++) {
            ServerFrame.Event e = c.t.next(ServerFrame.Event.class);
            assertEquals(channel, e.channel());
            Position p = e.position().orElseThrow();
            epoch = epoch == null ? p.epoch() : epoch;
            assertEquals(new Position(epoch, from + k), p, "offsets unchanged, in order");
            assertEquals(from + k, e.data().get("i").asLong());
        }
    }

    private static void awaitAtRest(Harness.Client c) {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!c.session.outboundAtRest()) {
            assertTrue(System.nanoTime() < deadline, "the connection's writer did not finish its turn");
            Thread.onSpinWait();
        }
    }

    private static List<Integer> writesAfter(Harness.Client c, int before) {
        List<Integer> all = c.t.batchSizes();
        return new ArrayList<>(all.subList(before, all.size()));
    }

    @Test
    void publicationsWithinTheWindowReachEachSubscriberInOneWriteInOrder() {
        harness("PT1S", 10);
        Harness.Client bob = subscribed(BOB, 1, "ticker:t1");
        Harness.Client carol = subscribed(CAROL, 1, "ticker:t1");
        int bobBefore = bob.t.batchSizes().size();
        int carolBefore = carol.t.batchSizes().size();

        // ten reach the batch's size: written at once, not after the delay
        for (int i = 1; i <= 10; i++) {
            publish("ticker:t1", i);
        }
        assertEvents(bob, "ticker:t1", 1, 10);
        assertEvents(carol, "ticker:t1", 1, 10);
        assertEquals(List.of(10), writesAfter(bob, bobBefore), "one write of ten frames");
        assertEquals(List.of(10), writesAfter(carol, carolBefore), "one write of ten frames");
        awaitAtRest(bob); // the writer counts a write once its send returned, after the client has it
        assertEquals(bobBefore + 1, bob.session.outboundWrites(), "the connection's own count of socket writes");

        // three more wait for the delay, then go out together
        for (int i = 11; i <= 13; i++) {
            publish("ticker:t1", i);
        }
        assertEvents(bob, "ticker:t1", 11, 3);
        assertEvents(carol, "ticker:t1", 11, 3);
        assertEquals(List.of(10, 3), writesAfter(bob, bobBefore));
        assertEquals(List.of(10, 3), writesAfter(carol, carolBefore));
    }

    @Test
    void aReplyDoesNotWaitForTheBatchAndTakesTheWaitingFramesAlong() {
        harness("PT1S", 100);
        Harness.Client bob = subscribed(BOB, 1, "ticker:t1");
        int before = bob.t.batchSizes().size();
        publish("ticker:t1", 1);
        publish("ticker:t1", 2);
        long start = System.nanoTime();
        List<ServerFrame> ahead = bob.sync(); // a ping's reply: queued behind the two events
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(2, ahead.size(), "the events come first, in order: " + ahead);
        assertEquals(1, ((ServerFrame.Event) ahead.get(0)).position().orElseThrow().offset());
        assertEquals(2, ((ServerFrame.Event) ahead.get(1)).position().orElseThrow().offset());
        assertEquals(List.of(3), writesAfter(bob, before), "both events and the reply in one write");
        assertTrue(waitedMillis < 900, "the reply did not wait for the one-second delay (" + waitedMillis + " ms)");
    }

    /**
     * One writer shard, two connections: one waits a second for its batch, then the other's
     * batch of 50 ms is due first and must not wait behind it (the parked writer's alarm is set
     * again for the earlier wait).
     */
    @Test
    void aShorterDelayIsNotHeldUpByALongerOneOnTheSameWriter() throws Exception {
        ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create("""
                namespaces:
                  slow: { subscribe: any, batch-max-delay: PT1S }
                  fast: { subscribe: any, batch-max-delay: PT0.05S }
                """, MediaTypes.create("application/x-yaml"))));
        java.util.concurrent.ScheduledExecutorService timers = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try (Writers writers = new Writers(1, timers)) {
            Writers.Shard shard = writers.assign();
            TestTransport slowT = new TestTransport(dev.tandem.protocol.FrameCodec.create());
            TestTransport fastT = new TestTransport(dev.tandem.protocol.FrameCodec.create());
            Outbound slow = outbound("slow", slowT, shard, Batching.of(rules));
            Outbound fast = outbound("fast", fastT, shard, Batching.of(rules));
            assertTrue(slow.live(publication(rules, "slow:s", 1), encoded(rules, "slow:s", 1)));
            Thread.sleep(20); // the writer parks with its alarm a second away
            long start = System.nanoTime();
            assertTrue(fast.live(publication(rules, "fast:f", 1), encoded(rules, "fast:f", 1)));
            fastT.next(ServerFrame.Event.class);
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMillis < 900, "the 50 ms batch was written before the one-second one (" + tookMillis + " ms)");
            assertEquals(List.of(), slowT.batchSizes(), "the slow batch still waits");
            slowT.next(ServerFrame.Event.class);
        } finally {
            timers.shutdownNow();
        }
    }

    private static Outbound outbound(String name, TestTransport t, Writers.Shard shard, Batching batching) {
        return new Outbound(name, t, SessionLimits.DEFAULTS, dev.tandem.telemetry.Telemetry.NOOP, p -> {
            throw new AssertionError("nothing unencoded here");
        }, shard, new Outbound.Owner() {
            @Override
            public void writerFinished(int closeCode) {
            }

            @Override
            public void overflowed() {
                throw new AssertionError("no queue fills up here");
            }

            @Override
            public void notice(dev.tandem.operations.Result.Failed notice) {
                throw new AssertionError("no notices here");
            }
        }, batching);
    }

    private static dev.tandem.hub.Publication publication(ChannelRules rules, String channel, long offset) {
        return new dev.tandem.hub.Publication(rules.resolve("acme", channel), Optional.of(new Position("e", offset)),
                "tick", "id-" + offset, java.time.Instant.now(), Optional.empty(),
                JsonNodeFactory.instance.objectNode().put("i", offset), System.nanoTime());
    }

    private static dev.tandem.hub.Encoded encoded(ChannelRules rules, String channel, long offset) {
        dev.tandem.hub.Publication p = publication(rules, channel, offset);
        return new dev.tandem.hub.Encoded(dev.tandem.protocol.FrameCodec.create().encode(p.toFrame()), p.frameOp());
    }

    @Test
    void otherNamespacesAreWrittenAsSoonAsTheWriterComes() {
        harness("PT1S", 100);
        Harness.Client bob = subscribed(BOB, 1, "tenant");
        int before = bob.t.batchSizes().size();
        publish("tenant", 1);
        assertEvents(bob, "tenant", 1, 1);
        publish("tenant", 2);
        assertEvents(bob, "tenant", 2, 1);
        assertEquals(List.of(1, 1), writesAfter(bob, before), "no batching: a write per idle publication");
    }
}
