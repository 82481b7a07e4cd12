package dev.tandem.session;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EngineTest {
    private static final String ALICE = token("alice", "acme", "locations=*");
    private Harness h;

    @AfterEach
    void closeHarness() {
        if (h != null) {
            h.close();
        }
    }

    private JsonNode data() {
        return h.codec.object().put("sku", "A-1");
    }

    private static void assertRestartedWithReconnect(Client c) {
        ServerFrame.Disconnect d = c.t.next(ServerFrame.Disconnect.class);
        assertEquals(1012, d.code());
        assertTrue(d.reconnect());
        assertEquals(1012, c.t.awaitClose());
    }

    // ------------------------------------------------------------------ drain

    @Test
    void drainTellsEveryoneToReconnectAndClosesWith1012() {
        h = new Harness(Harness.limits().build());
        Client a = h.connected(ALICE);
        Client b = h.connected(token("bob", "acme"));
        Client unauthenticated = h.open();
        a.send(new ClientFrame.Subscribe(1, "tenant", Optional.empty(), false));
        a.t.reply(1);
        assertEquals(3, h.engine.sessionCount());

        assertTrue(h.engine.drain(Duration.ofSeconds(5)));
        assertFalse(h.engine.accepting());
        assertEquals(0, h.engine.sessionCount());
        assertRestartedWithReconnect(a);
        assertRestartedWithReconnect(b);
        assertRestartedWithReconnect(unauthenticated);
        assertEquals(0, h.hub.subscriberCount(h.key("acme", "tenant")));
    }

    @Test
    void drainWritesQueuedEventsBeforeTheDisconnect() {
        h = new Harness(Harness.limits().build());
        Client a = h.connected(ALICE);
        a.send(new ClientFrame.Subscribe(1, "tenant", Optional.empty(), false));
        a.t.reply(1);
        a.t.block();
        h.publish("acme", "tenant", "t", data());
        h.publish("acme", "tenant", "t", data());
        Thread drainer = Thread.ofVirtual().start(() -> h.engine.drain(Duration.ofSeconds(5)));
        Harness.await("draining", () -> !h.engine.accepting());
        a.t.unblock();
        a.t.next(ServerFrame.Event.class);
        a.t.next(ServerFrame.Event.class);
        assertRestartedWithReconnect(a);
        try {
            drainer.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aConnectionOpenedWhileDrainingIsSentElsewhereWithoutAWelcome() {
        h = new Harness(Harness.limits().build());
        assertTrue(h.engine.drain(Duration.ofSeconds(1)));
        Client late = h.open(Optional.of(ALICE));
        assertRestartedWithReconnect(late);
        Harness.await("the late session is gone", () -> h.engine.sessionCount() == 0);
    }

    @Test
    void drainReportsConnectionsThatDidNotGoInTime() throws Exception {
        h = new Harness(Harness.limits().writeTimeout(Duration.ofSeconds(5)).build());
        Client stuck = h.connected(ALICE);
        stuck.t.block();
        stuck.send(new ClientFrame.Ping(1));
        stuck.t.awaitBlockedInSend();
        assertFalse(h.engine.drain(Duration.ofMillis(100)));
        assertEquals(1, h.engine.sessionCount());
        stuck.t.unblock();
        stuck.t.reply(1);
        assertRestartedWithReconnect(stuck);
    }

    @Test
    void noTimerOutlivesItsSession() {
        h = new Harness(Harness.limits().writeTimeout(Duration.ofMillis(50)).build());
        ScheduledThreadPoolExecutor timers = (ScheduledThreadPoolExecutor) h.engine.scheduler();
        Client authenticated = h.connected(ALICE);
        Client waiting = h.open();
        Client refused = h.open(Optional.of("bad"));
        authenticated.session.close(CloseCode.NORMAL, "bye");
        waiting.session.transportClosed(1001);
        authenticated.t.awaitClose();
        refused.t.awaitClose();
        assertTrue(h.engine.drain(Duration.ofSeconds(1)));
        h.open(Optional.of(ALICE)).t.awaitClose(); // refused while draining
        Harness.await("the engine has no session left", () -> h.engine.sessionCount() == 0);
        // the presence sweep belongs to the operations layer, the engine's own periodic tasks
        // (session sweep, writers' watchdog) stay: nothing one-shot of a session stays behind
        Harness.await("no session timer is left", () -> timers.getQueue().stream()
                .allMatch(r -> r instanceof java.util.concurrent.RunnableScheduledFuture<?> f && f.isPeriodic()));
    }

    @Test
    void sessionsShareOneTimerTaskWhateverTheirNumber() {
        h = new Harness(Harness.limits().heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)).build());
        ScheduledThreadPoolExecutor timers = (ScheduledThreadPoolExecutor) h.engine.scheduler();
        int before = timers.getQueue().size();
        List<Client> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            Client c = h.connected(ALICE);
            c.t.onPing(c.session::heard);
            clients.add(c);
        }
        Client waiting = h.open();
        // every one of them is pinged by the one sweep
        Harness.await("every connection pinged twice", () -> clients.stream().allMatch(c -> c.t.pings() >= 2));
        // a periodic task is out of the queue while it runs: at most the engine's own two
        // (sweep, writers' watchdog), whichever was running when first counted
        assertTrue(timers.getQueue().size() <= Math.max(before, 2), "a timer task per connection: "
                + timers.getQueue().size() + " tasks for 21 connections");
        clients.forEach(c -> assertEquals(Session.State.OPEN, c.session.state()));
        assertEquals(Session.State.AWAITING_AUTH, waiting.session.state());
    }

    @Test
    void connectionsOpenedTogetherPingAtDifferentTimesWithinOneInterval() {
        Duration interval = Duration.ofSeconds(1);
        h = new Harness(Harness.limits().heartbeat(interval, Duration.ofSeconds(1)).build());
        long period = Engine.sweepPeriod(h.engine.limits()).toNanos();
        int n = 30;
        java.util.concurrent.atomic.AtomicLongArray firstPing = new java.util.concurrent.atomic.AtomicLongArray(n);
        long opened = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Client c = h.connected(ALICE);
            int slot = i;
            c.t.onPing(() -> {
                firstPing.compareAndSet(slot, 0, System.nanoTime());
                c.session.heard();
            });
        }
        Harness.await("every connection pinged", () -> java.util.stream.IntStream.range(0, n)
                .allMatch(i -> firstPing.get(i) != 0));
        long min = java.util.stream.IntStream.range(0, n).mapToLong(firstPing::get).min().orElseThrow();
        long max = java.util.stream.IntStream.range(0, n).mapToLong(firstPing::get).max().orElseThrow();
        assertTrue(max - min >= 2 * period, "first pings spread over " + (max - min) / 1_000_000 + " ms only");
        assertTrue(min - opened >= interval.toNanos() / 2 - period, "a first ping before half an interval");
        assertTrue(max - opened <= interval.toNanos() + 2 * period + Duration.ofMillis(300).toNanos(),
                "a first ping later than one interval: " + (max - opened) / 1_000_000 + " ms");
    }

    @Test
    void aPublisherWaitsUntilTheWritersReachedTheConnectionsWaitingWhenItAsks() throws Exception {
        h = new Harness(Harness.limits().build());
        Engine oneWriter = Engine.builder().operations(h.ops).codec(h.codec).writers(1).build();
        try {
            TestTransport stuck = new TestTransport(h.codec);
            Session stuckSession = oneWriter.open(stuck, Optional.of(token("ann", "acme")));
            stuck.next(ServerFrame.Welcome.class);
            List<TestTransport> waiting = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                TestTransport t = new TestTransport(h.codec);
                Session s = oneWriter.open(t, Optional.of(token("u" + i, "acme")));
                t.next(ServerFrame.Welcome.class);
                s.receive(h.codec.encode(new ClientFrame.Subscribe(1, "tenant", Optional.empty(), false)));
                t.reply(1);
                waiting.add(t);
            }
            // the node's only writer sits in a write to a peer that stopped reading
            stuck.block();
            stuckSession.receive(h.codec.encode(new ClientFrame.Ping(1)));
            stuck.awaitBlockedInSend();
            h.publish("acme", "tenant", "t", h.codec.object());
            oneWriter.awaitFanOut();
            for (TestTransport t : waiting) {
                assertEquals(1, t.drain().size(), "written before the publisher went on");
            }
            stuck.unblock();
        } finally {
            oneWriter.close();
        }
    }

    @Test
    void theSweepRunsOftenEnoughForTheShortestTimerAndAtLeastEverySecond() {
        assertEquals(Duration.ofSeconds(1), Engine.sweepPeriod(SessionLimits.DEFAULTS));
        assertEquals(Duration.ofMillis(5), Engine.sweepPeriod(Harness.limits()
                .heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)).build()));
        assertEquals(Duration.ofMillis(25), Engine.sweepPeriod(Harness.limits()
                .authTimeout(Duration.ofMillis(200)).build()));
    }

    // ------------------------------------------------------------------ trusted publish

    // ------------------------------------------------------------------ telemetry

    @Test
    void reportsConnectionsFramesAndErrors() {
        List<String> seen = new CopyOnWriteArrayList<>();
        dev.tandem.telemetry.Telemetry telemetry = new dev.tandem.telemetry.Telemetry() {
            @Override
            public void connectionOpened() {
                seen.add("opened");
            }

            @Override
            public void connectionClosed(int closeCode) {
                seen.add("closed:" + closeCode);
            }

            @Override
            public void frameIn(String op) {
                seen.add("in:" + op);
            }

            @Override
            public void error(ErrorCode code) {
                seen.add("error:" + code.wire());
            }
        };
        dev.tandem.hub.Hub hub = new dev.tandem.hub.Hub(dev.tandem.protocol.FrameCodec.create(), telemetry);
        dev.tandem.operations.Operations ops = dev.tandem.operations.Operations.builder()
                .broker(new dev.tandem.broker.MemoryBroker(hub, dev.tandem.channel.ChannelRules.create(), telemetry,
                        java.time.Clock.systemUTC()))
                .verifier(new FakeVerifier())
                .telemetry(telemetry)
                .build();
        Engine engine = Engine.builder().operations(ops).telemetry(telemetry).build();
        try {
            TestTransport t = new TestTransport(engine.codec());
            Session s = engine.open(t, Optional.empty());
            s.receive(engine.codec().encode(new ClientFrame.Connect(1, "bad")));
            assertEquals(4001, t.awaitClose());
            Harness.await("the close is reported", () -> seen.contains("closed:4001"));
            assertEquals(List.of("opened", "in:connect", "error:unauthorized", "closed:4001"), seen);
        } finally {
            engine.close();
            ops.close();
        }
    }
}
