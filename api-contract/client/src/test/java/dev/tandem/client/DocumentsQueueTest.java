package dev.tandem.client;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The offline queue's statuses and retries against a scripted link (no server). */
class DocumentsQueueTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ServerFrame.Welcome ALICE = welcome("alice");
    private static final Backoff FAST = new Backoff(Duration.ofMillis(50), Duration.ofMillis(200), 2, 0);

    /** A link whose requests the test answers. */
    static final class ScriptedLink implements Documents.Link {
        volatile ServerFrame.Welcome welcome;
        volatile ServerFrame.Welcome last;
        final BlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
        private final AtomicLong ids = new AtomicLong(1);

        record Sent(ClientFrame frame, CompletableFuture<ServerFrame.Reply> reply) {
        }

        @Override
        public Optional<ServerFrame.Welcome> ready() {
            return Optional.ofNullable(welcome);
        }

        @Override
        public Optional<ServerFrame.Welcome> last() {
            return Optional.ofNullable(welcome != null ? welcome : last);
        }

        @Override
        public CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frame, Duration timeout) {
            if (welcome == null) {
                return CompletableFuture.failedFuture(new TandemClientException(ErrorCode.UNAVAILABLE, "not connected"));
            }
            CompletableFuture<ServerFrame.Reply> f = new CompletableFuture<>();
            sent.add(new Sent(frame.apply(ids.getAndIncrement()), f));
            return f;
        }

        Sent next() throws InterruptedException {
            Sent s = sent.poll(5, TimeUnit.SECONDS);
            assertNotNull(s, "a request should have been sent");
            return s;
        }
    }

    private final ScriptedLink link = new ScriptedLink();
    private final List<QueuedOp> seen = new CopyOnWriteArrayList<>();
    private final BlockingQueue<Object> notices = new LinkedBlockingQueue<>();
    private Documents docs;

    private Documents documents(QueueStore store) {
        docs = new Documents(link, store, FAST, Clock.systemUTC());
        docs.addListener(new Documents.Listener() {
            @Override
            public void op(QueuedOp op) {
                seen.add(op);
            }

            @Override
            public void conflict(ConflictRecord conflict) {
                notices.add(conflict);
            }

            @Override
            public void storageError(QueueStorageException error) {
                notices.add(error);
            }

            @Override
            public void resolved(String conflictId, Optional<Doc> document) {
                notices.add("resolved " + conflictId);
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

    private static ServerFrame.Welcome welcome(String user) {
        return new ServerFrame.Welcome("s1", "n1", user, "acme", 25_000, Optional.empty(),
                new ServerFrame.Limits(65_536, 50, 100, 64));
    }

    private static ServerFrame.Reply results(long id, ObjectNode... results) {
        ObjectNode body = JSON.objectNode();
        ArrayNode list = body.putArray("results");
        for (ObjectNode r : results) {
            list.add(r);
        }
        return new ServerFrame.Reply(id, body);
    }

    private static ObjectNode result(String opId, String result) {
        return JSON.objectNode().put("opId", opId).put("result", result).put("version", 2);
    }

    private List<String> statuses(String opId) {
        return seen.stream().filter(o -> o.opId().equals(opId))
                .map(o -> o.done() ? o.status().wire() + "(done)" : o.status().wire()).toList();
    }

    private QueuedOp update(String docId, DocChange change) throws Exception {
        return docs.update("stock", docId, change).get(5, TimeUnit.SECONDS);
    }

    @Test
    void editsMadeOfflineWaitThenGoInOrderAsOneSyncBatchAndLeaveTheQueueApplied() throws Exception {
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", -1));
        QueuedOp b = update("A-2", DocChange.set("price", JSON.numberNode(5)));
        QueuedOp c = update("A-3", DocChange.delete());
        assertEquals(OpStatus.QUEUED, a.status());
        assertTrue(a.durable());
        assertEquals(docs.clientId() + ":1", a.opId());
        assertNull(link.sent.poll(200, TimeUnit.MILLISECONDS), "nothing is sent while offline");

        link.welcome = ALICE;
        docs.connected();
        ScriptedLink.Sent sync = link.next();
        ClientFrame.Sync frame = (ClientFrame.Sync) sync.frame();
        assertEquals(List.of(a.opId(), b.opId(), c.opId()), frame.ops().stream().map(ClientFrame.DocUpdate::opId).toList());
        assertEquals(-1, frame.ops().get(0).patch().orElseThrow().path("inc").path("qty").asInt());
        assertTrue(frame.ops().get(2).patch().orElseThrow().path("delete").asBoolean());
        sync.reply().complete(results(frame.id(), result(a.opId(), "applied"), result(b.opId(), "duplicate"),
                JSON.objectNode().put("opId", c.opId()).put("result", "merged").put("version", 7)
                        .put("strategy", "last-write-wins").<ObjectNode>set("fields", JSON.arrayNode().add("qty"))));
        QueuedOp merged = docs.settled(c.opId()).get(5, TimeUnit.SECONDS);
        assertEquals(OpStatus.MERGED, merged.status());
        assertEquals(List.of("qty"), merged.fields());
        assertEquals(Optional.of("last-write-wins"), merged.strategy());
        assertEquals(List.of("queued", "sending", "applied(done)"), statuses(a.opId()));
        assertEquals(List.of("queued", "sending", "duplicate(done)"), statuses(b.opId()));
        assertTrue(docs.ops().isEmpty());
        assertEquals(7, docs.version("stock", "A-3").orElseThrow(), "the version an operation produced is remembered");
    }

    @Test
    void aRejectedOperationStaysVisibleWithItsReasonUntilDismissed() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", -100));
        ScriptedLink.Sent sync = link.next();
        sync.reply().complete(results(sync.frame().id(), JSON.objectNode().put("opId", a.opId()).put("result", "rejected")
                .put("code", "constraint").put("reason", "qty must be >= 0")));
        QueuedOp rejected = docs.settled(a.opId()).get(5, TimeUnit.SECONDS);
        assertEquals(OpStatus.REJECTED, rejected.status());
        assertEquals(Optional.of("constraint"), rejected.code());
        assertEquals(Optional.of("qty must be >= 0"), rejected.reason());
        assertFalse(rejected.done());
        Thread.sleep(100);
        assertEquals(List.of(a.opId()), docs.ops().stream().map(QueuedOp::opId).toList(), "still in the queue");
        docs.dismiss(a.opId()).get(5, TimeUnit.SECONDS);
        assertTrue(docs.ops().isEmpty());
        assertEquals(List.of("queued", "sending", "rejected", "rejected(done)"), statuses(a.opId()));
    }

    @Test
    void aTransientFailureQueuesTheBatchAgainAndRetriesItAfterABackoff() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        ScriptedLink.Sent first = link.next();
        long failedAt = System.nanoTime();
        first.reply().completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "database down"));
        ScriptedLink.Sent second = link.next();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failedAt);
        assertTrue(waited >= 40, "retried after the backoff, not at once (" + waited + " ms)");
        second.reply().completeExceptionally(new TandemClientException(ErrorCode.RATE_LIMITED, "slow down"));
        ScriptedLink.Sent third = link.next();
        third.reply().complete(results(third.frame().id(), result(a.opId(), "applied")));
        assertEquals(OpStatus.APPLIED, docs.settled(a.opId()).get(5, TimeUnit.SECONDS).status());
        assertEquals(List.of("queued", "sending", "queued", "sending", "queued", "sending", "applied(done)"),
                statuses(a.opId()));
        QueuedOp requeued = seen.stream().filter(o -> o.opId().equals(a.opId())).toList().get(2);
        assertEquals(Optional.of("unavailable: database down"), requeued.reason(), "the transient failure is told");
        assertEquals(3, seen.get(seen.size() - 1).attempts());
    }

    @Test
    void aLostConnectionWaitsForTheNextWelcomeAndSendsTheSameOpIdsAgain() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        ScriptedLink.Sent first = link.next();
        link.welcome = null;
        first.reply().completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "connection lost"));
        assertNull(link.sent.poll(300, TimeUnit.MILLISECONDS), "no retry while disconnected");
        link.welcome = ALICE;
        docs.connected();
        ScriptedLink.Sent again = link.next();
        assertEquals(a.opId(), ((ClientFrame.Sync) again.frame()).ops().get(0).opId());
        again.reply().complete(results(again.frame().id(), result(a.opId(), "duplicate")));
        assertEquals(OpStatus.DUPLICATE, docs.settled(a.opId()).get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void aBatchRefusedAsAWholeIsRetriedOneOperationAtATimeSoOnlyTheBadOneFails() throws Exception {
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        QueuedOp b = update("A-2", DocChange.inc("qty", 1));
        QueuedOp c = update("A-3", DocChange.inc("qty", 1));
        link.welcome = ALICE;
        docs.connected();
        ScriptedLink.Sent batch = link.next();
        assertEquals(3, ((ClientFrame.Sync) batch.frame()).ops().size());
        batch.reply().completeExceptionally(new TandemClientException(ErrorCode.BAD_REQUEST, "ops[1]: bad"));
        List<String> failed = new ArrayList<>();
        for (QueuedOp expected : List.of(a, b, c)) {
            ScriptedLink.Sent one = link.next();
            List<ClientFrame.DocUpdate> ops = ((ClientFrame.Sync) one.frame()).ops();
            assertEquals(List.of(expected.opId()), ops.stream().map(ClientFrame.DocUpdate::opId).toList());
            if (expected == b) {
                one.reply().completeExceptionally(new TandemClientException(ErrorCode.BAD_REQUEST, "bad"));
                failed.add(expected.opId());
            } else {
                one.reply().complete(results(one.frame().id(), result(expected.opId(), "applied")));
            }
        }
        assertEquals(OpStatus.FAILED, docs.settled(b.opId()).get(5, TimeUnit.SECONDS).status());
        assertEquals(OpStatus.APPLIED, docs.settled(c.opId()).get(5, TimeUnit.SECONDS).status());
        assertEquals(failed, docs.ops().stream().map(QueuedOp::opId).toList());
        docs.retry(b.opId()).get(5, TimeUnit.SECONDS);
        ScriptedLink.Sent retried = link.next();
        retried.reply().complete(results(retried.frame().id(), result(b.opId(), "applied")));
        assertEquals(OpStatus.APPLIED, docs.settled(b.opId()).get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void operationsQueuedByAnotherUserAreNeverSentWithThisUsersToken() throws Exception {
        link.welcome = welcome("bob");
        documents(new MemoryQueueStore(0));
        link.welcome = null;
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        link.welcome = ALICE;
        docs.connected();
        ScriptedLink.Sent s = link.next();
        s.reply().complete(results(s.frame().id(), result(a.opId(), "applied")));
        docs.settled(a.opId()).get(5, TimeUnit.SECONDS);
        // now queued as alice: bob must not send it
        link.last = ALICE;
        link.welcome = null;
        QueuedOp mine = update("A-2", DocChange.inc("qty", 1));
        link.welcome = welcome("bob");
        docs.connected();
        QueuedOp refused = docs.settled(mine.opId()).get(5, TimeUnit.SECONDS);
        assertEquals(OpStatus.FAILED, refused.status());
        assertEquals(Optional.of("forbidden"), refused.code());
        assertNull(link.sent.poll(200, TimeUnit.MILLISECONDS));
    }

    @Test
    void aStorageFailureIsReportedAndTheOperationKeptInMemoryUnderItsOwnClientId() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(1));
        QueuedOp a = update("A-1", DocChange.inc("qty", 1));
        Object notice = notices.poll(5, TimeUnit.SECONDS);
        assertTrue(notice instanceof QueueStorageException q && q.kind() == QueueStorageException.Kind.FULL,
                String.valueOf(notice));
        assertFalse(a.durable());
        assertTrue(a.opId().startsWith(docs.clientId() + "."), a.opId());
        ScriptedLink.Sent s = link.next();
        assertEquals(a.opId(), ((ClientFrame.Sync) s.frame()).ops().get(0).opId(), "still sent");
        s.reply().complete(results(s.frame().id(), result(a.opId(), "applied")));
        assertEquals(OpStatus.APPLIED, docs.settled(a.opId()).get(5, TimeUnit.SECONDS).status());
    }

    @Test
    void aConflictWaitsForItsResolutionAndLeavesTheQueueWithIt() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.set("price", JSON.numberNode(7)));
        ScriptedLink.Sent s = link.next();
        ObjectNode conflict = JSON.objectNode().put("conflictId", "k1").put("docType", "stock").put("docId", "A-1")
                .put("opId", a.opId()).put("status", "open");
        conflict.putArray("fields").add("price");
        s.reply().complete(results(s.frame().id(), JSON.objectNode().put("opId", a.opId()).put("result", "conflict")
                .put("conflictId", "k1").<ObjectNode>set("conflict", conflict)));
        QueuedOp waiting = docs.settled(a.opId()).get(5, TimeUnit.SECONDS);
        assertEquals(OpStatus.CONFLICT, waiting.status());
        assertEquals(Optional.of("k1"), waiting.conflictId());
        ConflictRecord record = (ConflictRecord) notices.poll(5, TimeUnit.SECONDS);
        assertEquals(List.of("price"), record.fields());
        assertEquals(List.of("k1"), docs.conflicts().stream().map(ConflictRecord::conflictId).toList());

        CompletableFuture<Doc> resolved = docs.resolve("k1", Resolution.ACCEPT_LOCAL, Optional.empty());
        ScriptedLink.Sent r = link.next();
        ClientFrame.ConflictResolve frame = (ClientFrame.ConflictResolve) r.frame();
        assertEquals("accept_local", frame.resolution());
        ObjectNode doc = JSON.objectNode().put("docType", "stock").put("docId", "A-1").put("version", 3);
        doc.putObject("data").put("price", 7);
        r.reply().complete(new ServerFrame.Reply(frame.id(), JSON.objectNode().put("result", "resolved")
                .<ObjectNode>set("document", doc)));
        assertEquals(3, resolved.get(5, TimeUnit.SECONDS).version());
        assertEquals("resolved k1", notices.poll(5, TimeUnit.SECONDS));
        assertTrue(docs.ops().isEmpty());
        assertTrue(docs.conflicts().isEmpty());
        QueuedOp last = seen.get(seen.size() - 1);
        assertTrue(last.done());
        assertEquals(Optional.of(Resolution.ACCEPT_LOCAL), last.resolution());
    }

    @Test
    void aFullJournalIsReportedTheOperationKeptInMemoryAndNothingStoredBeforeIsLost(@TempDir Path dir)
            throws Exception {
        Path file = dir.resolve("q.journal");
        documents(FileJournal.open(file, 1_500));
        List<QueuedOp> ops = new ArrayList<>();
        QueueStorageException full = null;
        for (int i = 0; i < 20 && full == null; i++) {
            ops.add(update("A-" + i, DocChange.inc("qty", 1)));
            Object notice = notices.poll(100, TimeUnit.MILLISECONDS);
            full = notice instanceof QueueStorageException q ? q : null;
        }
        assertNotNull(full, "the journal filled up");
        assertEquals(QueueStorageException.Kind.FULL, full.kind());
        QueuedOp last = ops.get(ops.size() - 1);
        assertFalse(last.durable(), "kept in memory");
        assertEquals(ops.stream().map(QueuedOp::opId).toList(), docs.ops().stream().map(QueuedOp::opId).toList(),
                "nothing is lost from the queue");
        docs.close();
        docs = null;
        try (FileJournal again = FileJournal.open(file, 1_500)) {
            assertEquals(ops.subList(0, ops.size() - 1).stream().map(QueuedOp::opId).toList(),
                    again.load().ops().stream().map(e -> e.opId).toList(), "everything stored before is still stored");
        }
    }

    @Test
    void aConflictNoticeFromTheInboxMarksItsOperationAndAStaleOneForgetsIt() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.set("price", JSON.numberNode(7)));
        ScriptedLink.Sent s = link.next(); // the reply is lost: another device of alice's gets the conflict
        ObjectNode record = JSON.objectNode().put("conflictId", "k2").put("opId", a.opId()).put("status", "open");
        docs.conflictFrame(new ServerFrame.Conflict("k2", "user:alice", new dev.tandem.protocol.Position("e", 1), record))
                .get(5, TimeUnit.SECONDS);
        assertEquals(OpStatus.CONFLICT, docs.ops().get(0).status());
        assertEquals("k2", ((ConflictRecord) notices.poll(5, TimeUnit.SECONDS)).conflictId());
        record.put("status", "stale");
        docs.conflictFrame(new ServerFrame.Conflict("k2", "user:alice", new dev.tandem.protocol.Position("e", 2), record))
                .get(5, TimeUnit.SECONDS);
        assertEquals("resolved k2", notices.poll(5, TimeUnit.SECONDS));
        assertTrue(docs.ops().isEmpty());
        assertTrue(docs.conflicts().isEmpty());
        s.reply().completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "lost"));
    }

    @Test
    void anAnswerToABatchInFlightDoesNotBringBackAnOperationWhoseConflictWasResolvedMeanwhile() throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.set("price", JSON.numberNode(7)));
        ScriptedLink.Sent first = link.next(); // in flight; the inbox tells of its conflict meanwhile
        ObjectNode record = JSON.objectNode().put("conflictId", "k3").put("opId", a.opId()).put("status", "open");
        docs.conflictFrame(new ServerFrame.Conflict("k3", "user:alice", new dev.tandem.protocol.Position("e", 1), record))
                .get(5, TimeUnit.SECONDS);
        CompletableFuture<Doc> resolved = docs.resolve("k3", Resolution.ACCEPT_SERVER, Optional.empty());
        ScriptedLink.Sent r = link.next();
        ObjectNode doc = JSON.objectNode().put("docType", "stock").put("docId", "A-1").put("version", 3);
        doc.putObject("data").put("price", 5);
        r.reply().complete(new ServerFrame.Reply(r.frame().id(), JSON.objectNode().put("result", "resolved")
                .<ObjectNode>set("document", doc)));
        resolved.get(5, TimeUnit.SECONDS);
        assertTrue(docs.ops().isEmpty());

        // the batch's answer comes last: the conflict it reports is the one already resolved
        first.reply().complete(results(first.frame().id(), JSON.objectNode().put("opId", a.opId())
                .put("result", "conflict").put("conflictId", "k3").<ObjectNode>set("conflict", record)));
        docs.flush();
        assertNull(link.sent.poll(300, TimeUnit.MILLISECONDS), "nothing is sent again");
        assertTrue(docs.ops().isEmpty(), "the resolved operation stays out of the queue: " + docs.ops());
        assertTrue(docs.conflicts().isEmpty());
        assertTrue(seen.get(seen.size() - 1).done());

        // the same when the batch fails instead (its connection was lost)
        QueuedOp b = update("A-2", DocChange.set("price", JSON.numberNode(8)));
        ScriptedLink.Sent second = link.next();
        ObjectNode stale = JSON.objectNode().put("conflictId", "k4").put("opId", b.opId()).put("status", "stale");
        docs.conflictFrame(new ServerFrame.Conflict("k4", "user:alice", new dev.tandem.protocol.Position("e", 2),
                stale.deepCopy().put("status", "open"))).get(5, TimeUnit.SECONDS);
        docs.conflictFrame(new ServerFrame.Conflict("k4", "user:alice", new dev.tandem.protocol.Position("e", 3), stale))
                .get(5, TimeUnit.SECONDS);
        assertTrue(docs.ops().isEmpty());
        second.reply().completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "lost"));
        docs.flush();
        assertNull(link.sent.poll(300, TimeUnit.MILLISECONDS), "nothing is sent again");
        assertTrue(docs.ops().isEmpty(), "the stale operation stays out of the queue: " + docs.ops());
    }

    @Test
    void anOperationTheInboxReportsInConflictWhileItsBatchIsInFlightStaysInConflictWhenTheBatchFails()
            throws Exception {
        link.welcome = ALICE;
        documents(new MemoryQueueStore(0));
        QueuedOp a = update("A-1", DocChange.set("price", JSON.numberNode(7)));
        ScriptedLink.Sent s = link.next();
        ObjectNode record = JSON.objectNode().put("conflictId", "k5").put("opId", a.opId()).put("status", "open");
        docs.conflictFrame(new ServerFrame.Conflict("k5", "user:alice", new dev.tandem.protocol.Position("e", 1), record))
                .get(5, TimeUnit.SECONDS);
        s.reply().completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "lost"));
        docs.flush();
        assertNull(link.sent.poll(300, TimeUnit.MILLISECONDS), "an operation in conflict is not sent");
        assertEquals(OpStatus.CONFLICT, docs.ops().get(0).status());
        assertEquals(Optional.of("k5"), docs.ops().get(0).conflictId());
        docs.dismiss(a.opId()).get(5, TimeUnit.SECONDS); // the app may give it up, as any conflict
        assertTrue(docs.ops().isEmpty());
    }

    @Test
    void theBaseVersionIsTheNewestVersionSeen() throws Exception {
        documents(new MemoryQueueStore(0));
        docs.saw("stock", "A-1", 4);
        docs.saw("stock", "A-1", 3);
        assertEquals(4, update("A-1", DocChange.inc("qty", 1)).baseVersion());
        assertEquals(0, update("A-9", DocChange.data(JSON.objectNode().put("qty", 1))).baseVersion());
        JsonNode ignored = JSON.nullNode();
        assertNotNull(ignored);
    }
}
