package dev.tandem.it.client;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tandem.client.Backoff;
import dev.tandem.client.Doc;
import dev.tandem.client.DocChange;
import dev.tandem.client.Documents;
import dev.tandem.client.LiveDocument;
import dev.tandem.client.LiveQuery;
import dev.tandem.client.OpStatus;
import dev.tandem.client.QueryPage;
import dev.tandem.client.TandemClient;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Load, then follow, with the Java client against a real gateway: a live document (snapshot
 * subscription) and a live query (paged query with its channel's position, then the channel
 * from there), including a gap too long for the channel's history, which reloads.
 */
class LiveViewsTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static ProxiedGateway node;
    private static Gateway gateway;
    private static CuttableProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        node = ProxiedGateway.start(Map.of("tandem.documents.db.url", "jdbc:h2:mem:client-live-views;DB_CLOSE_DELAY=-1",
                "tandem.documents.types.stock_level.counters.0", "qty",
                "tandem.documents.types.stock_level.channels.0", "location:{locationId}",
                "tandem.channels.namespaces.location.history-size", "3"));
        gateway = node.gateway();
        proxy = node.proxy();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static TandemClient client(String user, String tenant, int port) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> DevTokens.mint(DevTokens.DEV_SECRET, user, tenant, List.of(),
                        Map.of("locations", List.of("*")), Duration.ofHours(1), Optional.empty(), Optional.empty()))
                .reconnect(new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), 2, 0.5))
                .build();
    }

    private static void write(Documents docs, String id, DocChange change) throws Exception {
        var op = docs.update("stock_level", id, change).get(5, TimeUnit.SECONDS);
        OpStatus status = docs.settled(op.opId()).get(10, TimeUnit.SECONDS).status();
        assertTrue(status == OpStatus.APPLIED || status == OpStatus.MERGED, status.toString());
    }

    private static DocChange stock(String location, int qty) {
        return DocChange.data(JSON.objectNode().put("locationId", location).put("qty", qty));
    }

    @Test
    void aLiveDocumentLoadsWithItsSnapshotThenFollowsChanges() throws Exception {
        try (TandemClient alice = client("alice", "lv-1", gateway.port());
             TandemClient bob = client("bob", "lv-1", gateway.port())) {
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            write(bob.documents(), "A-1", stock("wh-1", 5));
            BlockingQueue<Optional<Doc>> changes = new LinkedBlockingQueue<>();
            try (LiveDocument live = alice.documents().watch("stock_level", "A-1")) {
                live.onChange(changes::add);
                Doc first = live.ready().get(10, TimeUnit.SECONDS).orElseThrow();
                assertEquals(1, first.version());
                assertEquals(5, first.data().path("qty").asInt());
                write(bob.documents(), "A-1", DocChange.inc("qty", 2));
                Doc next = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((next == null || next.version() < 2) && System.nanoTime() < deadline) {
                    next = changes.poll(10, TimeUnit.SECONDS).orElseThrow();
                }
                assertEquals(2, next.version());
                assertEquals(7, next.data().path("qty").asInt());
                assertEquals(2, alice.documents().version("stock_level", "A-1").orElseThrow(),
                        "the next edit is based on the version followed");
            }
            try (LiveDocument none = alice.documents().watch("stock_level", "nope")) {
                assertEquals(Optional.empty(), none.ready().get(10, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void aLiveQueryLoadsEveryPageThenFollowsAddsChangesAndDeletions() throws Exception {
        try (TandemClient alice = client("alice", "lv-2", gateway.port());
             TandemClient bob = client("bob", "lv-2", gateway.port())) {
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            for (int i = 1; i <= 5; i++) {
                write(bob.documents(), "S-" + i, stock("wh-1", i));
            }
            write(bob.documents(), "T-1", stock("wh-2", 9));
            QueryPage page = alice.documents().query("stock_level", "locationId", JSON.textNode("wh-1"), 2,
                    Optional.empty()).get(10, TimeUnit.SECONDS);
            assertEquals(2, page.documents().size());
            assertEquals(Optional.of("location:wh-1"), page.channel());
            assertTrue(page.position().isPresent() && page.next().isPresent());

            BlockingQueue<String> changes = new LinkedBlockingQueue<>();
            try (LiveQuery live = alice.documents().liveQuery("stock_level", "locationId", JSON.textNode("wh-1"), 2)) {
                live.addListener(new LiveQuery.Listener() {
                    @Override
                    public void change(LiveQuery.Kind kind, Doc doc) {
                        changes.add(kind + " " + doc.docId() + " v" + doc.version());
                    }
                });
                live.ready().get(10, TimeUnit.SECONDS);
                assertEquals(5, live.documents().size(), "every page loaded");
                assertEquals(Optional.of("location:wh-1"), live.channel());
                write(bob.documents(), "S-2", DocChange.inc("qty", 10));
                assertEquals("CHANGED S-2 v2", changes.poll(10, TimeUnit.SECONDS));
                write(bob.documents(), "S-9", stock("wh-1", 1));
                assertEquals("ADDED S-9 v1", changes.poll(10, TimeUnit.SECONDS));
                write(bob.documents(), "S-1", DocChange.delete());
                // a deletion reaches the channels that carried the document
                assertEquals("REMOVED S-1 v2", changes.poll(10, TimeUnit.SECONDS));
                assertEquals(12, live.documents().get("S-2").data().path("qty").asInt());
                assertEquals(5, live.documents().size());
            }
        }
    }

    @Test
    void aLiveQueryReloadsWhenTheGapIsLongerThanTheChannelsHistory() throws Exception {
        try (TandemClient alice = client("alice", "lv-3", proxy.port());
             TandemClient bob = client("bob", "lv-3", gateway.port())) {
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            write(bob.documents(), "R-1", stock("wh-3", 1));
            BlockingQueue<Map<String, Doc>> resets = new LinkedBlockingQueue<>();
            try (LiveQuery live = alice.documents().liveQuery("stock_level", "locationId", JSON.textNode("wh-3"))) {
                live.addListener(new LiveQuery.Listener() {
                    @Override
                    public void reset(Map<String, Doc> documents) {
                        resets.add(documents);
                    }
                });
                live.ready().get(10, TimeUnit.SECONDS);
                assertEquals(1, resets.poll(5, TimeUnit.SECONDS).size());
                proxy.refuse(true);
                for (int i = 2; i <= 6; i++) { // five publications: more than the history of 3
                    write(bob.documents(), "R-" + i, stock("wh-3", i));
                }
                proxy.refuse(false);
                Map<String, Doc> reloaded = resets.poll(15, TimeUnit.SECONDS);
                assertEquals(6, reloaded == null ? -1 : reloaded.size(), "reloaded after the unrecoverable gap");
                assertEquals(6, live.documents().size());
            } finally {
                proxy.refuse(false);
            }
        }
    }
}
