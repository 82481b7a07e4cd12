package dev.tandem.client;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.client.DocumentsQueueTest.ScriptedLink;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ServerFrame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The per-document edit chains of the offline queue against a scripted link (no server). */
class EditChainQueueTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ServerFrame.Welcome ALICE = new ServerFrame.Welcome("s1", "n1", "alice", "acme", 25_000,
            Optional.empty(), new ServerFrame.Limits(65_536, 50, 100, 64));

    private final ScriptedLink link = new ScriptedLink();
    private final List<QueuedOp> seen = new CopyOnWriteArrayList<>();
    private Documents docs;

    @TempDir
    Path dir;

    private Documents documents(QueueStore store) {
        docs = new Documents(link, store, new Backoff(Duration.ofMillis(50), Duration.ofMillis(200), 2, 0),
                Clock.systemUTC());
        docs.addListener(new Documents.Listener() {
            @Override
            public void op(QueuedOp op) {
                seen.add(op);
            }
        });
        return docs;
    }

    @AfterEach
    void close() {
        if (docs != null) {
            docs.close();
        }
    }

    private QueuedOp update(String docId, DocChange change) throws Exception {
        return docs.update("stock", docId, change).get(5, TimeUnit.SECONDS);
    }

    private static List<ClientFrame.DocUpdate> ops(ScriptedLink.Sent sent) {
        return ((ClientFrame.Sync) sent.frame()).ops();
    }

    private static ServerFrame.Reply results(ScriptedLink.Sent sent, ObjectNode... results) {
        ObjectNode body = JSON.objectNode();
        for (ObjectNode r : results) {
            body.withArray("results").add(r);
        }
        return new ServerFrame.Reply(sent.frame().id(), body);
    }

    private static ObjectNode conflict(String opId, String conflictId) {
        ObjectNode record = JSON.objectNode().put("conflictId", conflictId).put("docType", "stock").put("docId", "A-1")
                .put("opId", opId).put("status", "open");
        return JSON.objectNode().put("opId", opId).put("result", "conflict").put("conflictId", conflictId)
                .set("conflict", record);
    }

    private static ObjectNode held(String opId, String conflictId) {
        return JSON.objectNode().put("opId", opId).put("result", "held").put("conflictId", conflictId);
    }

    private static ObjectNode applied(String opId, long version) {
        return JSON.objectNode().put("opId", opId).put("result", "applied").put("version", version);
    }

    private void connect() {
        link.welcome = ALICE;
        docs.connected();
    }

    /** A price edit that meets a conflict ({@code cf-1}) and a qty edit after it, reported held. */
    private List<QueuedOp> priceConflictThenHeldQty() throws Exception {
        QueuedOp price = update("A-1", DocChange.set("price", JSON.numberNode(13)));
        QueuedOp qty = update("A-1", DocChange.inc("qty", -1));
        connect();
        ScriptedLink.Sent sync = link.next();
        sync.reply().complete(results(sync, conflict(price.opId(), "cf-1"), held(qty.opId(), "cf-1")));
        assertEquals(OpStatus.CONFLICT, docs.settled(price.opId()).get(5, TimeUnit.SECONDS).status());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (seen.stream().noneMatch(o -> o.opId().equals(qty.opId()) && o.heldBy().isPresent())) {
            assertTrue(System.nanoTime() < deadline, "the qty edit should be reported held");
            Thread.sleep(10);
        }
        return List.of(price, qty);
    }

    private ScriptedLink.Sent resolveAcceptingLocal(String conflictId, long version) throws Exception {
        CompletableFuture<Doc> resolve = docs.resolve(conflictId, Resolution.ACCEPT_LOCAL, Optional.empty());
        ScriptedLink.Sent resolution = link.next();
        ObjectNode doc = JSON.objectNode().put("docType", "stock").put("docId", "A-1").put("version", version);
        doc.putObject("data").put("price", 13);
        resolution.reply().complete(new ServerFrame.Reply(resolution.frame().id(), JSON.objectNode()
                .put("result", "resolved").put("conflictId", conflictId).put("version", version).set("document", doc)));
        assertEquals(version, resolve.get(5, TimeUnit.SECONDS).version());
        return link.next();
    }

    @Test
    void anEditQueuedBehindAnUnsettledEditOfTheSameDocumentNamesItAsItsPredecessor() throws Exception {
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        QueuedOp other = update("B-1", DocChange.inc("qty", 1));
        QueuedOp b = update("A-1", DocChange.inc("qty", 2));
        QueuedOp c = update("A-1", DocChange.inc("qty", 3));
        assertEquals(List.of(Optional.empty(), Optional.empty(), Optional.of(a.opId()), Optional.of(b.opId())),
                List.of(a.afterOpId(), other.afterOpId(), b.afterOpId(), c.afterOpId()));
        connect();
        ScriptedLink.Sent sync = link.next();
        assertEquals(List.of(Optional.empty(), Optional.empty(), Optional.of(a.opId()), Optional.of(b.opId())),
                ops(sync).stream().map(ClientFrame.DocUpdate::afterOpId).toList(), "sent with the chain");
        sync.reply().complete(results(sync, applied(a.opId(), 2), applied(other.opId(), 2), applied(b.opId(), 3),
                applied(c.opId(), 4)));
        assertEquals(OpStatus.APPLIED, docs.settled(c.opId()).get(5, TimeUnit.SECONDS).status());
        QueuedOp d = update("A-1", DocChange.inc("qty", 4));
        assertEquals(Optional.empty(), d.afterOpId(), "nothing unsettled to follow: based on the version seen");
        assertEquals(4, d.baseVersion());
    }

    @Test
    void aHeldEditStaysQueuedWaitingForItsConflictAndGoesOutAfterTheResolution() throws Exception {
        documents(new MemoryQueueStore(0));
        List<QueuedOp> pair = priceConflictThenHeldQty();
        QueuedOp qty = pair.get(1);
        QueuedOp waiting = docs.ops().getLast();
        assertEquals(OpStatus.QUEUED, waiting.status(), "held edits stay queued");
        assertEquals(Optional.of("cf-1"), waiting.heldBy());
        // an edit queued after the held one waits for the same conflict without asking the server
        QueuedOp note = update("A-1", DocChange.set("note", JSON.textNode("n")));
        assertEquals(Optional.of(qty.opId()), note.afterOpId());
        assertNull(link.sent.poll(300, TimeUnit.MILLISECONDS), "held edits are not sent while their conflict is open");
        assertEquals(Optional.of("cf-1"), docs.ops().getLast().heldBy());

        ScriptedLink.Sent after = resolveAcceptingLocal("cf-1", 5);
        assertEquals(List.of(qty.opId(), note.opId()), ops(after).stream().map(ClientFrame.DocUpdate::opId).toList());
        after.reply().complete(results(after, applied(qty.opId(), 6), applied(note.opId(), 7)));
        assertEquals(OpStatus.APPLIED, docs.settled(note.opId()).get(5, TimeUnit.SECONDS).status());
        assertTrue(docs.ops().isEmpty());
        List<String> qtyStatuses = seen.stream().filter(o -> o.opId().equals(qty.opId()))
                .map(o -> o.status().wire() + o.heldBy().map(h -> "(" + h + ")").orElse("")).toList();
        assertEquals(List.of("queued", "sending", "queued(cf-1)", "queued", "sending", "applied"), qtyStatuses);
    }

    @Test
    void aHeldAnswerForAConflictTheClientSawEndSendsTheEditAgainAtOnce() throws Exception {
        documents(new MemoryQueueStore(0));
        QueuedOp qty = priceConflictThenHeldQty().get(1);
        ScriptedLink.Sent raced = resolveAcceptingLocal("cf-1", 5);
        // judged just before the resolution committed: held by a conflict that is over
        raced.reply().complete(results(raced, held(qty.opId(), "cf-1")));
        ScriptedLink.Sent again = link.next();
        assertEquals(List.of(qty.opId()), ops(again).stream().map(ClientFrame.DocUpdate::opId).toList(),
                "sent again without waiting for a reconnect");
        again.reply().complete(results(again, applied(qty.opId(), 6)));
        assertEquals(OpStatus.APPLIED, docs.settled(qty.opId()).get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void theChainAndWhatAnEditWaitsForSurviveARestartAndAreAskedAgainOnConnect() throws Exception {
        Path journal = dir.resolve("chain.journal");
        documents(FileJournal.open(journal, 0));
        List<QueuedOp> pair = priceConflictThenHeldQty();
        QueuedOp price = pair.get(0);
        QueuedOp qty = pair.get(1);
        docs.close();
        link.welcome = null;

        documents(FileJournal.open(journal, 0));
        QueuedOp reloaded = docs.ops().getLast();
        assertEquals(qty.opId(), reloaded.opId());
        assertEquals(Optional.of(price.opId()), reloaded.afterOpId());
        assertEquals(Optional.of("cf-1"), reloaded.heldBy());
        connect(); // resolved meanwhile on another device, say: the server is asked again
        ScriptedLink.Sent again = link.next();
        assertEquals(List.of(qty.opId()), ops(again).stream().map(ClientFrame.DocUpdate::opId).toList());
        assertEquals(Optional.of(price.opId()), ops(again).getFirst().afterOpId());
        again.reply().complete(results(again, applied(qty.opId(), 6)));
        assertEquals(OpStatus.APPLIED, docs.settled(qty.opId()).get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void dismissingAConflictedEditLetsTheEditsAfterItFollowItsPredecessor() throws Exception {
        documents(new MemoryQueueStore(0));
        List<QueuedOp> pair = priceConflictThenHeldQty();
        QueuedOp price = pair.get(0);
        QueuedOp qty = pair.get(1);
        docs.dismiss(price.opId()).get(5, TimeUnit.SECONDS);
        ScriptedLink.Sent after = link.next();
        assertEquals(List.of(qty.opId()), ops(after).stream().map(ClientFrame.DocUpdate::opId).toList());
        assertEquals(Optional.empty(), ops(after).getFirst().afterOpId(), "the dismissed edit followed nothing");
        after.reply().complete(results(after, applied(qty.opId(), 3)));
        assertEquals(OpStatus.APPLIED, docs.settled(qty.opId()).get(5, TimeUnit.SECONDS).status());
        QueuedOp gone = seen.stream().filter(o -> o.opId().equals(price.opId())).toList().getLast();
        assertTrue(gone.done(), "the app is told the dismissed edit left the queue");
        assertEquals(OpStatus.CONFLICT, gone.status());
    }
}
