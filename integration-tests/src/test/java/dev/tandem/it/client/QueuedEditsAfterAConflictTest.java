package dev.tandem.it.client;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.client.ConflictRecord;
import dev.tandem.client.Doc;
import dev.tandem.client.DocChange;
import dev.tandem.client.Documents;
import dev.tandem.client.OpStatus;
import dev.tandem.client.QueuedOp;
import dev.tandem.client.Resolution;
import dev.tandem.client.TandemClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A user's own queued edits of a document against a real gateway (in process, behind a proxy
 * the test cuts): an edit queued after one that becomes a manual conflict waits for that
 * conflict, the conflict stays resolvable, and the waiting edit applies on top of the
 * resolution; edits in a row by one user with no other writer are each {@code applied}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueuedEditsAfterAConflictTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private ProxiedGateway node;

    @TempDir
    Path dir;

    @BeforeAll
    void start() throws Exception {
        node = ProxiedGateway.start(Map.of(
                "tandem.documents.db.url", "jdbc:h2:mem:client-edits-after-conflict;DB_CLOSE_DELAY=-1",
                "tandem.documents.types.product.strategy", "manual"));
    }

    @AfterAll
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    private TestUsers users() {
        return new TestUsers("edits-" + UUID.randomUUID().toString().substring(0, 6), node.gateway().port());
    }

    private static QueuedOp settled(Documents docs, QueuedOp op) throws Exception {
        return docs.settled(op.opId()).get(20, TimeUnit.SECONDS);
    }

    private static QueuedOp queue(Documents docs, String id, DocChange change) throws Exception {
        return docs.update("product", id, change).get(5, TimeUnit.SECONDS);
    }

    private static QueuedOp awaitHeld(Heard heard, QueuedOp op) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            for (QueuedOp o : heard.of(op.opId())) {
                if (o.heldBy().isPresent()) {
                    return o;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the edit should be reported held: " + heard.of(op.opId()));
    }

    private static void awaitState(TandemClient c, TandemClient.State state) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (c.state() != state) {
            assertTrue(System.nanoTime() < deadline, "the client should reach " + state + ", is " + c.state());
            Thread.sleep(20);
        }
    }

    @Test
    void anEditQueuedAfterAConflictedOneWaitsAndAppliesOnTopOfTheResolution() throws Exception {
        TestUsers users = users();
        CuttableProxy network = node.proxy();
        Heard heard = new Heard();
        try (TandemClient alice = users.client("alice", network.port()).queue(dir.resolve("alice.journal")).build();
             TandemClient bob = users.client("bob", node.gateway().port()).build()) {
            Documents docs = alice.documents();
            docs.addListener(heard);
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            settled(docs, queue(docs, "p1", DocChange.data(JSON.objectNode().put("price", 10).put("qty", 5))));
            settled(docs, queue(docs, "p1", DocChange.set("price", JSON.numberNode(11))));
            settled(docs, queue(docs, "p1", DocChange.set("note", JSON.textNode("fresh"))));
            assertEquals(3, docs.version("product", "p1").orElseThrow(), "alice has seen version 3");

            network.refuse(true); // alice goes offline
            awaitState(alice, TandemClient.State.RECONNECTING);
            assertEquals(3, bob.documents().get("product", "p1").get(5, TimeUnit.SECONDS).orElseThrow().version());
            QueuedOp bobs = bob.documents().update("product", "p1", DocChange.set("price", JSON.numberNode(12)))
                    .get(5, TimeUnit.SECONDS);
            assertEquals(OpStatus.APPLIED, settled(bob.documents(), bobs).status());
            QueuedOp price = queue(docs, "p1", DocChange.set("price", JSON.numberNode(13)));
            QueuedOp qty = queue(docs, "p1", DocChange.inc("qty", -1));
            assertEquals(Optional.of(price.opId()), qty.afterOpId(), "the qty edit follows the price edit");
            network.refuse(false);

            QueuedOp conflicted = settled(docs, price);
            assertEquals(OpStatus.CONFLICT, conflicted.status());
            ConflictRecord conflict = heard.conflicts.poll(10, TimeUnit.SECONDS);
            assertEquals(conflicted.conflictId().orElseThrow(), conflict.conflictId());
            assertEquals(List.of("price"), conflict.fields());
            QueuedOp waiting = awaitHeld(heard, qty);
            assertEquals(OpStatus.QUEUED, waiting.status(), "the qty edit stays queued");
            assertEquals(Optional.of(conflict.conflictId()), waiting.heldBy(), "waiting for the price conflict");
            assertEquals(5, users.document("product", "p1").path("data").path("qty").asInt(), "not applied yet");

            // resolved as the README shows: the merged data
            ObjectNode merged = conflict.local().deepCopy().put("price", 13);
            Doc resolved = docs.resolve(conflict.conflictId(), Resolution.MERGE, Optional.of(merged))
                    .get(10, TimeUnit.SECONDS);
            assertEquals(5, resolved.version(), "the conflict was still about the stored version");

            QueuedOp qtyDone = settled(docs, qty);
            assertEquals(OpStatus.APPLIED, qtyDone.status(), "applied on top of the resolution: " + qtyDone);
            assertEquals(6, qtyDone.version().orElseThrow());
            JsonNode stored = users.document("product", "p1");
            assertEquals(6, stored.path("version").asLong(), stored.toString());
            assertEquals(13, stored.path("data").path("price").asInt(), "the resolution: " + stored);
            assertEquals(4, stored.path("data").path("qty").asInt(), "the queued qty edit, once: " + stored);
            assertTrue(docs.ops().isEmpty(), "nothing left waiting: " + docs.ops());
            assertTrue(docs.conflicts().isEmpty());
            QueuedOp lastOfPrice = heard.of(price.opId()).getLast();
            assertTrue(lastOfPrice.done());
            assertEquals(Optional.of(Resolution.MERGE), lastOfPrice.resolution(), "the app heard how it ended");
        } finally {
            network.refuse(false);
        }
    }

    @Test
    void editsInARowByOneUserWithNoOtherWriterAreEachApplied() throws Exception {
        TestUsers users = users();
        CuttableProxy network = node.proxy();
        try (TandemClient alice = users.client("alice", network.port()).queue(dir.resolve("row.journal")).build()) {
            Documents docs = alice.documents();
            alice.connect().get(10, TimeUnit.SECONDS);
            settled(docs, queue(docs, "p2", DocChange.data(JSON.objectNode().put("price", 1).put("qty", 1))));

            // online, queued back to back: the second is queued while the first is on its way
            QueuedOp first = queue(docs, "p2", DocChange.set("price", JSON.numberNode(2)));
            QueuedOp second = queue(docs, "p2", DocChange.inc("qty", 1));
            assertEquals(OpStatus.APPLIED, settled(docs, first).status());
            assertEquals(OpStatus.APPLIED, settled(docs, second).status(), settled(docs, second).toString());

            // offline, then sent in one batch
            network.refuse(true);
            awaitState(alice, TandemClient.State.RECONNECTING);
            List<QueuedOp> offline = List.of(queue(docs, "p2", DocChange.set("price", JSON.numberNode(3))),
                    queue(docs, "p2", DocChange.set("note", JSON.textNode("x"))),
                    queue(docs, "p2", DocChange.inc("qty", 1)));
            network.refuse(false);
            long version = 3;
            for (QueuedOp op : offline) {
                QueuedOp done = settled(docs, op);
                assertEquals(OpStatus.APPLIED, done.status(), done.toString());
                assertEquals(++version, done.version().orElseThrow());
            }
            JsonNode stored = users.document("product", "p2");
            assertEquals(6, stored.path("version").asLong());
            assertEquals(3, stored.path("data").path("qty").asInt(), stored.toString());
        } finally {
            network.refuse(false);
        }
    }
}
