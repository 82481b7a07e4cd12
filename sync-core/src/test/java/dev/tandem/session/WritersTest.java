package dev.tandem.session;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WritersTest {
    private final FrameCodec codec = FrameCodec.create();
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
    private Writers writers;

    @AfterEach
    void stop() {
        if (writers != null) {
            writers.close();
        }
        timers.shutdownNow();
    }

    private record Connection(Outbound out, TestTransport transport, CompletableFuture<Integer> finished) {
    }

    private Connection connection(String name) {
        TestTransport t = new TestTransport(codec);
        CompletableFuture<Integer> finished = new CompletableFuture<>();
        Outbound out = new Outbound(name, t, SessionLimits.DEFAULTS, Telemetry.NOOP, p -> {
            throw new AssertionError("nothing unencoded here");
        }, writers.assign(), new Outbound.Owner() {
            @Override
            public void writerFinished(int closeCode) {
                finished.complete(closeCode);
            }

            @Override
            public void overflowed() {
                throw new AssertionError("no queue fills up here");
            }

            @Override
            public void notice(dev.tandem.operations.Result.Failed notice) {
                throw new AssertionError("no notices here");
            }
        });
        return new Connection(out, t, finished);
    }

    private Frame frame(long id) {
        return Frame.of(codec.encode(new ServerFrame.Error(id, dev.tandem.protocol.ErrorCode.BAD_REQUEST, "n" + id))
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), "error");
    }

    @Test
    void everyConnectionGetsAllItsFramesInOrder() {
        writers = new Writers(2, timers);
        List<Connection> connections = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            connections.add(connection("c" + i));
        }
        for (int n = 1; n <= 200; n++) {
            for (Connection c : connections) {
                assertTrue(c.out().offer(frame(n)));
            }
        }
        for (Connection c : connections) {
            for (int n = 1; n <= 200; n++) {
                ServerFrame.Error e = assertInstanceOf(ServerFrame.Error.class, c.transport().next());
                assertEquals(n, e.id(), "frames of one connection stay in order");
            }
        }
    }

    @Test
    void aPeerThatStopsReadingDoesNotHoldUpTheOtherConnectionsOfItsShard() throws Exception {
        writers = new Writers(1, timers); // one shard: both connections share a runner
        Connection stuck = connection("stuck");
        Connection other = connection("other");
        stuck.transport().block();
        assertTrue(stuck.out().offer(frame(1)));
        stuck.transport().awaitBlockedInSend();
        for (int n = 1; n <= 10; n++) {
            assertTrue(other.out().offer(frame(n)));
        }
        for (int n = 1; n <= 10; n++) {
            assertEquals(n, ((ServerFrame.Error) other.transport().next()).id(),
                    "the other connection is written while its shard's runner is blocked");
        }
        // the frames queued while the runner was blocked went out together, not one write each
        assertEquals(10, other.transport().batchSizes().get(0));
        stuck.transport().unblock();
        assertEquals(1, ((ServerFrame.Error) stuck.transport().next()).id());
        // and the stuck connection, once it reads again, is an ordinary connection of the shard
        assertTrue(stuck.out().offer(frame(2)));
        assertEquals(2, ((ServerFrame.Error) stuck.transport().next()).id());
    }

    @Test
    void stoppingAConnectionBlockedInAWriteUnblocksItsWriterAndEndsIt() throws Exception {
        writers = new Writers(1, timers);
        Connection dead = connection("dead");
        Connection alive = connection("alive");
        dead.transport().block();
        assertTrue(dead.out().offer(frame(1)));
        dead.transport().awaitBlockedInSend();
        dead.out().stop();
        dead.transport().awaitInterrupted();
        assertEquals(0, dead.finished().get(5, TimeUnit.SECONDS), "a stopped connection ends without a close code");
        assertFalse(dead.out().offer(frame(2)), "nothing is queued after the end");
        assertTrue(alive.out().offer(frame(1)));
        assertEquals(1, ((ServerFrame.Error) alive.transport().next()).id(),
                "the interrupt hit only the dead connection's writer");
    }

    @Test
    void aCloseIsTheLastThingWrittenAndEndsTheConnection() throws Exception {
        writers = new Writers(2, timers);
        Connection c = connection("c");
        for (int n = 1; n <= 5; n++) {
            assertTrue(c.out().offer(frame(n)));
        }
        assertTrue(c.out().close(4000, "bye", java.util.Optional.empty(), false));
        assertEquals(4000, c.transport().awaitClose());
        assertEquals(4000, c.finished().get(5, TimeUnit.SECONDS));
        assertEquals(5, c.transport().drain().size(), "frames queued before the close are written first");
        assertFalse(c.out().offer(frame(6)));
    }

    @Test
    void aPublisherWaitingForTheBacklogReturnsOnceTheConnectionsQueuedBeforeItWereWritten() throws Exception {
        writers = new Writers(1, timers);
        assertTrue(writers.awaitBacklog(java.time.Duration.ofMillis(1)), "nothing waits: returns at once");
        Connection busy = connection("busy");
        List<Connection> waiting = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            waiting.add(connection("w" + i));
        }
        busy.transport().block(); // the runner sits in this write until the watchdog detaches it
        assertTrue(busy.out().offer(frame(1)));
        busy.transport().awaitBlockedInSend();
        for (Connection c : waiting) {
            assertTrue(c.out().offer(frame(7)));
        }
        assertTrue(writers.awaitBacklog(java.time.Duration.ofSeconds(5)));
        for (Connection c : waiting) {
            assertEquals(1, c.transport().drain().size(), "written before the waiting publisher went on");
        }
        busy.transport().unblock();
    }
}
