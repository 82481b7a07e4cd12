package dev.tandem.conflict.push;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.push.Device;
import dev.tandem.push.Notification;
import dev.tandem.push.PushStore;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The push tables on H2: one claim per row, leases that run out, records only by the lease holder. */
class SqlPushStoreTest {
    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
    private static final Duration LEASE = Duration.ofSeconds(30);

    SqlPushStore store;
    private final String h2 = "jdbc:h2:mem:push-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";

    /** The database: an in-memory H2 here, PostgreSQL in the subclass. */
    Config database() {
        return Config.just(ConfigSources.create(Map.of("url", h2)));
    }

    @BeforeEach
    void open() {
        store = SqlPushStore.create(database(), 4);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void twoNodesClaimingTogetherSendEachRowOnce() throws Exception {
        store.register("acme", "alice", fcm("tok-many"), 10, T0);
        for (int i = 0; i < 100; i++) {
            store.enqueue("acme", "alice", Notification.of("n" + i, "", Duration.ofHours(1)), T0);
        }
        java.util.Set<Long> sent = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger twice = new java.util.concurrent.atomic.AtomicInteger();
        try (SqlPushStore other = SqlPushStore.create(database(), 4)) {
            List<Thread> nodes = new java.util.ArrayList<>();
            for (SqlPushStore node : List.of(store, other)) {
                for (int t = 0; t < 2; t++) {
                    String holder = "node-" + System.identityHashCode(node) + "-" + t;
                    nodes.add(Thread.ofPlatform().start(() -> {
                        List<PushStore.Claimed> rows;
                        while (!(rows = node.claim(holder, 7, LEASE, T0)).isEmpty()) {
                            for (PushStore.Claimed r : rows) {
                                if (!sent.add(r.id())) {
                                    twice.incrementAndGet();
                                }
                                node.finish(r, holder, entry("delivered"), false);
                            }
                        }
                    }));
                }
            }
            for (Thread t : nodes) {
                t.join();
            }
        }
        assertEquals(0, twice.get(), "no row was claimed twice");
        assertEquals(100, sent.size());
        assertEquals(0, store.backlog());
    }

    private static Device.Fcm fcm(String token) {
        return new Device.Fcm(token, Device.Platform.ANDROID);
    }

    @Test
    void aQueuedRowIsClaimedByOneHolderUntilItsLeaseRunsOut() {
        store.register("acme", "alice", fcm("tok-1"), 10, T0);
        assertEquals(1, store.enqueue("acme", "alice", Notification.of("hi", "", Duration.ofHours(1)), T0));
        List<PushStore.Claimed> a = store.claim("node-a", 10, LEASE, T0);
        assertEquals(1, a.size());
        assertEquals(1, a.getFirst().attempts());
        assertEquals(Optional.of(fcm("tok-1")), a.getFirst().device());
        assertTrue(store.claim("node-b", 10, LEASE, T0.plusSeconds(29)).isEmpty(), "leased to node-a");
        List<PushStore.Claimed> b = store.claim("node-b", 10, LEASE, T0.plusSeconds(31));
        assertEquals(1, b.size(), "node-a's lease ran out: another node sends it");
        assertEquals(2, b.getFirst().attempts());
        // node-a comes back late: its record changes nothing
        store.finish(a.getFirst(), "node-a", entry("delivered"), false);
        assertEquals(1, store.backlog());
        store.finish(b.getFirst(), "node-b", entry("delivered"), false);
        assertEquals(0, store.backlog());
        assertEquals(1, store.history("acme", "alice", 10).size());
    }

    @Test
    void aRetriedRowWaitsUntilItIsDueAndAGoneDeviceTakesItsRowsWithIt() {
        PushStore.Registered d = store.register("acme", "alice", fcm("tok-2"), 10, T0);
        store.enqueue("acme", "alice", Notification.of("one", "", Duration.ofHours(1)), T0);
        store.enqueue("acme", "alice", Notification.of("two", "", Duration.ofHours(1)), T0);
        List<PushStore.Claimed> rows = store.claim("n", 1, LEASE, T0);
        store.retry(rows.getFirst(), "n", T0.plusSeconds(60));
        List<PushStore.Claimed> next = store.claim("n", 10, LEASE, T0.plusSeconds(1));
        assertEquals(1, next.size(), "the retried row is not due yet");
        store.finish(next.getFirst(), "n", entry("gone"), true);
        assertTrue(store.devices("acme", "alice").isEmpty());
        assertEquals(0, store.backlog(), "the device's other rows went with it");
        assertTrue(store.device("acme", d.id()).isEmpty());
    }

    @Test
    void devicesAreBoundedPerUserScopedByTenantAndOneRowPerAddress() {
        PushStore.Registered first = store.register("acme", "alice", fcm("tok-3"), 2, T0);
        assertEquals(first.id(), store.register("acme", "alice", fcm("tok-3"), 2, T0).id());
        store.register("acme", "alice", fcm("tok-4"), 2, T0);
        ProtocolException full = assertThrows(ProtocolException.class,
                () -> store.register("acme", "alice", fcm("tok-5"), 2, T0));
        assertEquals(ErrorCode.LIMIT_EXCEEDED, full.code());
        assertTrue(store.device("globex", first.id()).isEmpty(), "another tenant does not see it");
        assertTrue(!store.remove("globex", first.id()));
        PushStore.Registered moved = store.register("acme", "bob", fcm("tok-3"), 2, T0);
        assertEquals(1, store.devices("acme", "alice").size(), "the address moved to bob");
        assertEquals("bob", moved.user());
    }

    private static PushStore.HistoryEntry entry(String outcome) {
        return new PushStore.HistoryEntry("acme", "alice", "d", Optional.of(Device.Kind.FCM), outcome, 200, "", 1, "hi",
                T0);
    }
}
