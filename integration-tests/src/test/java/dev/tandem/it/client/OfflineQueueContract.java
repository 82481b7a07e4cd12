package dev.tandem.it.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tandem.client.Backoff;
import dev.tandem.client.ConflictRecord;
import dev.tandem.client.Doc;
import dev.tandem.client.DocChange;
import dev.tandem.client.Documents;
import dev.tandem.client.OpStatus;
import dev.tandem.client.QueuedOp;
import dev.tandem.client.Resolution;
import dev.tandem.client.TandemClient;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;
import dev.tandem.protocol.ServerFrame;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java client's offline operation queue against a real gateway (in process) over real
 * sockets, through a TCP proxy the tests cut: edits made offline are applied exactly once, in
 * order, after a reconnect, after a client restart (the journal) and when the reply to a
 * {@code sync} is lost; conflicts are resolved through the client; rejections stay visible. Run
 * standalone ({@link OfflineQueueTest}, H2 and memory) and in cluster mode
 * ({@link OfflineQueueClusterTest}, PostgreSQL and Redis).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OfflineQueueContract {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Backoff QUICK = new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), 2, 0.5);
    private ProxiedGateway node;
    private Gateway gateway;
    private CuttableProxy proxy;

    @TempDir
    Path dir;

    /** The backing parts of the gateway under test (documents database, Redis …) as configuration. */
    abstract Map<String, String> backends();

    @BeforeAll
    void start() throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(Map.of(
                "tandem.documents.types.stock_level.counters.0", "qty",
                "tandem.documents.types.stock_level.invariants.0", "qty >= 0",
                "tandem.documents.types.task.strategy", "manual"));
        settings.putAll(backends());
        node = ProxiedGateway.start(settings);
        gateway = node.gateway();
        proxy = node.proxy();
    }

    @AfterAll
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static String token(String user, String tenant, String... roles) {
        return DevTokens.mint(DevTokens.DEV_SECRET, user, tenant, List.of(roles), Map.of(), Duration.ofHours(1),
                Optional.empty(), Optional.empty());
    }

    /** A tenant of its own per test and backend run (the cluster database outlives the run). */
    private final String run = java.util.UUID.randomUUID().toString().substring(0, 6);

    private String t(String name) {
        return name + "-" + run;
    }

    private static TandemClient.Builder client(String user, String tenant, int port) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> token(user, tenant))
                .reconnect(QUICK)
                .requestTimeout(Duration.ofSeconds(5));
    }

    private JsonNode rest(String method, String tenant, String path, String body) throws Exception {
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.port() + path))
                .header("Authorization", "Bearer " + token("erp", tenant, "service"))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, res.statusCode(), res.body());
        return MAPPER.readTree(res.body());
    }

    private JsonNode document(String tenant, String type, String id) throws Exception {
        return rest("GET", tenant, "/api/v1/documents/" + type + "/" + id, null).path("document");
    }

    private static QueuedOp settled(Documents docs, QueuedOp op) throws Exception {
        return docs.settled(op.opId()).get(20, TimeUnit.SECONDS);
    }

    private static void awaitState(TandemClient c, TandemClient.State state) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (c.state() != state) {
            assertTrue(System.nanoTime() < deadline, "the client should reach " + state + ", is " + c.state());
            Thread.sleep(20);
        }
    }

    private static List<QueuedOp> edit(Documents docs, String type, String id, String... notes) throws Exception {
        List<QueuedOp> ops = new ArrayList<>();
        for (String note : notes) {
            ops.add(docs.update(type, id, DocChange.set("note", JSON.textNode(note))).get(5, TimeUnit.SECONDS));
        }
        return ops;
    }

    @Test
    void editsMadeOfflineAreAppliedExactlyOnceInOrderAfterTheReconnect() throws Exception {
        Heard statuses = new Heard();
        try (TandemClient alice = client("alice", t("q-1"), proxy.port()).queue(dir.resolve("alice.journal")).build()) {
            alice.documents().addListener(statuses);
            alice.connect().get(10, TimeUnit.SECONDS);
            QueuedOp created = alice.documents().update("note", "n1", DocChange.data(JSON.objectNode().put("note", "0")))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(OpStatus.APPLIED, settled(alice.documents(), created).status());

            proxy.refuse(true); // the network goes away
            awaitState(alice, TandemClient.State.RECONNECTING);
            List<QueuedOp> offline = edit(alice.documents(), "note", "n1", "a", "b", "c");
            Thread.sleep(300);
            for (QueuedOp op : alice.documents().ops()) {
                assertEquals(OpStatus.QUEUED, op.status(), "nothing is sent while offline");
            }
            assertEquals(List.of(1L, 1L, 1L), offline.stream().map(QueuedOp::baseVersion).toList(),
                    "edits are based on the last version seen");

            proxy.refuse(false);
            for (QueuedOp op : offline) {
                QueuedOp done = settled(alice.documents(), op);
                assertTrue(done.status() == OpStatus.APPLIED || done.status() == OpStatus.MERGED, done.toString());
                assertTrue(done.done());
            }
            JsonNode doc = document(t("q-1"), "note", "n1");
            assertEquals(4, doc.path("version").asLong(), "three edits, each applied once: " + doc);
            assertEquals("c", doc.path("data").path("note").asText(), "applied in order");
            assertTrue(alice.documents().ops().isEmpty());
            assertEquals(List.of("queued", "sending"), statuses.statuses(offline.get(0).opId()).subList(0, 2));
        } finally {
            proxy.refuse(false);
        }
    }

    @Test
    void editsQueuedBeforeAClientRestartAreSentByTheNextProcessFromTheJournal() throws Exception {
        Path journal = dir.resolve("restart.journal");
        List<QueuedOp> offline;
        try (TandemClient first = client("alice", t("q-2"), proxy.port()).queue(journal).build()) {
            first.connect().get(10, TimeUnit.SECONDS);
            QueuedOp created = first.documents().update("note", "n2",
                    DocChange.data(JSON.objectNode().put("note", "0"))).get(5, TimeUnit.SECONDS);
            settled(first.documents(), created);
            proxy.refuse(true);
            awaitState(first, TandemClient.State.RECONNECTING);
            offline = edit(first.documents(), "note", "n2", "a", "b", "c");
            assertTrue(offline.stream().allMatch(QueuedOp::durable));
        } finally {
            proxy.refuse(false);
        }
        // a new process: same journal, same client id, the queue comes back and is sent
        try (TandemClient second = client("alice", t("q-2"), proxy.port()).queue(journal).build()) {
            assertEquals(offline.stream().map(QueuedOp::opId).toList(),
                    second.documents().ops().stream().map(QueuedOp::opId).toList(), "the queue survived the restart");
            second.connect().get(10, TimeUnit.SECONDS);
            for (QueuedOp op : offline) {
                assertTrue(settled(second.documents(), op).done());
            }
            JsonNode doc = document(t("q-2"), "note", "n2");
            assertEquals(4, doc.path("version").asLong(), doc.toString());
            assertEquals("c", doc.path("data").path("note").asText());
            QueuedOp next = second.documents().update("note", "n2", DocChange.set("note", JSON.textNode("d")))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(offline.get(0).opId().split(":")[0] + ":5", next.opId(), "opIds continue the sequence");
            assertEquals(OpStatus.APPLIED, settled(second.documents(), next).status());
        }
    }

    @Test
    void aSyncWhoseReplyIsLostIsSentAgainAndTakesEffectOnce() throws Exception {
        try (TandemClient alice = client("alice", t("q-3"), proxy.port()).queue(dir.resolve("cut.journal")).build()) {
            alice.connect().get(10, TimeUnit.SECONDS);
            QueuedOp created = alice.documents().update("stock_level", "A-1",
                    DocChange.data(JSON.objectNode().put("qty", 10))).get(5, TimeUnit.SECONDS);
            settled(alice.documents(), created);
            proxy.refuse(true);
            awaitState(alice, TandemClient.State.RECONNECTING);
            List<QueuedOp> offline = new ArrayList<>();
            for (int i = 1; i <= 3; i++) {
                offline.add(alice.documents().update("stock_level", "A-1", DocChange.inc("qty", i))
                        .get(5, TimeUnit.SECONDS));
            }
            proxy.cutWhenServerSends("\"results\""); // the server applies the batch; its reply never arrives
            proxy.refuse(false);
            List<OpStatus> finals = new ArrayList<>();
            for (QueuedOp op : offline) {
                finals.add(settled(alice.documents(), op).status());
            }
            assertEquals(1, proxy.markerCuts(), "the connection was cut mid-sync");
            assertEquals(List.of(OpStatus.DUPLICATE, OpStatus.DUPLICATE, OpStatus.DUPLICATE), finals,
                    "sent again after the reconnect, recognised by opId");
            JsonNode doc = document(t("q-3"), "stock_level", "A-1");
            assertEquals(16, doc.path("data").path("qty").asInt(), "each delta counted once: " + doc);
            assertEquals(4, doc.path("version").asLong());
        } finally {
            proxy.refuse(false);
        }
    }

    @Test
    void aRejectedOperationStaysVisibleWithTheServersReasonUntilDismissed() throws Exception {
        try (TandemClient alice = client("alice", t("q-4"), gateway.port()).build()) {
            alice.connect().get(10, TimeUnit.SECONDS);
            Documents docs = alice.documents();
            settled(docs, docs.update("stock_level", "B-1", DocChange.data(JSON.objectNode().put("qty", 1)))
                    .get(5, TimeUnit.SECONDS));
            QueuedOp oversell = docs.update("stock_level", "B-1", DocChange.inc("qty", -5)).get(5, TimeUnit.SECONDS);
            QueuedOp rejected = settled(docs, oversell);
            assertEquals(OpStatus.REJECTED, rejected.status());
            assertEquals(Optional.of("constraint"), rejected.code());
            assertTrue(rejected.reason().orElseThrow().contains("qty"), rejected.reason().orElseThrow());
            Thread.sleep(200);
            assertEquals(List.of(oversell.opId()), docs.ops().stream().map(QueuedOp::opId).toList(),
                    "a rejection stays until the app dismisses it");
            docs.dismiss(oversell.opId()).get(5, TimeUnit.SECONDS);
            assertTrue(docs.ops().isEmpty());
            assertEquals(1, document(t("q-4"), "stock_level", "B-1").path("data").path("qty").asInt());
        }
    }

    @Test
    void aConcurrentEditOfAManualTypeIsAConflictResolvedThroughTheClient() throws Exception {
        Heard statuses = new Heard();
        try (TandemClient alice = client("alice", t("q-5"), proxy.port()).queue(dir.resolve("conflict.journal")).build();
             TandemClient bob = client("bob", t("q-5"), gateway.port()).build()) {
            alice.documents().addListener(statuses);
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            settled(alice.documents(), alice.documents().update("task", "t1",
                    DocChange.data(JSON.objectNode().put("title", "draft").put("owner", "alice"))).get(5, TimeUnit.SECONDS));
            proxy.refuse(true);
            awaitState(alice, TandemClient.State.RECONNECTING);
            QueuedOp mine = alice.documents().update("task", "t1", DocChange.set("title", JSON.textNode("alice's")))
                    .get(5, TimeUnit.SECONDS);
            Optional<Doc> seenByBob = bob.documents().get("task", "t1").get(5, TimeUnit.SECONDS);
            assertEquals(1, seenByBob.orElseThrow().version());
            QueuedOp bobs = bob.documents().update("task", "t1", DocChange.set("title", JSON.textNode("bob's")))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(OpStatus.APPLIED, settled(bob.documents(), bobs).status());
            proxy.refuse(false);

            QueuedOp waiting = settled(alice.documents(), mine);
            assertEquals(OpStatus.CONFLICT, waiting.status());
            ConflictRecord conflict = statuses.conflicts.poll(10, TimeUnit.SECONDS);
            assertEquals(waiting.conflictId().orElseThrow(), conflict.conflictId());
            assertEquals(List.of("title"), conflict.fields());
            assertEquals("bob's", conflict.server().path("title").asText());
            assertEquals("alice's", conflict.local().path("title").asText());
            assertEquals(List.of(mine.opId()), alice.documents().ops().stream().map(QueuedOp::opId).toList(),
                    "the conflicted operation waits in the queue");

            Doc resolved = alice.documents().resolve(conflict.conflictId(), Resolution.MERGE,
                    Optional.of(JSON.objectNode().put("title", "alice's and bob's").put("owner", "alice")))
                    .get(10, TimeUnit.SECONDS);
            assertEquals("alice's and bob's", resolved.data().path("title").asText());
            assertEquals(3, resolved.version());
            assertTrue(alice.documents().ops().isEmpty());
            assertTrue(alice.documents().conflicts().isEmpty());
            QueuedOp last = statuses.ops.stream().filter(o -> o.opId().equals(mine.opId())).reduce((a, b) -> b)
                    .orElseThrow();
            assertTrue(last.done());
            assertEquals(Optional.of(Resolution.MERGE), last.resolution());
            assertEquals("alice's and bob's", document(t("q-5"), "task", "t1").path("data").path("title").asText());
        } finally {
            proxy.refuse(false);
        }
    }

    @Test
    void theOwnInboxDeliversEveryUnacknowledgedMessageOnSubscribeAndAcknowledgesThem() throws Exception {
        for (int n = 1; n <= 3; n++) {
            rest("POST", t("q-6"), "/api/v1/users/alice/send", "{\"type\":\"note\",\"data\":{\"n\":" + n + "}}");
        }
        BlockingQueue<ServerFrame.Event> events = new LinkedBlockingQueue<>();
        try (TandemClient alice = client("alice", t("q-6"), gateway.port()).inbox(true).onEvent(events::add).build()) {
            alice.connect().get(10, TimeUnit.SECONDS);
            for (int n = 1; n <= 3; n++) {
                ServerFrame.Event e = events.poll(10, TimeUnit.SECONDS);
                assertEquals("user:alice", e.channel(), String.valueOf(e));
                assertEquals(n, e.data().path("n").asInt(), "replayed below the top, taken, in order");
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long depth;
            do {
                Thread.sleep(100);
                depth = rest("GET", t("q-6"), "/api/v1/sync-state?user=alice", null).path("inbox").path("depth").asLong();
            } while (depth > 0 && System.nanoTime() < deadline);
            assertEquals(0, depth, "handled inbox messages are acknowledged");
        }
        assertFalse(events.stream().anyMatch(e -> !e.channel().equals("user:alice")));
    }

}
