package dev.tandem.conformance;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.Documents;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.Strategy;
import dev.tandem.document.WriteGuard;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite of the {@link Documents} port: every adapter (H2 and PostgreSQL in the
 * conflict module) extends it and is held to the same contract: versions, idempotent replay,
 * the per-type policies (merge, counters, strategies, invariants), manual conflicts and their
 * resolution, the audit trail, offline batches, after-commit notification and no lost update
 * under concurrent writers.
 *
 * <p>Adapters implement {@link #open} with the suite's document settings (policies in
 * {@link #SETTINGS}) plus their own database settings. Each test works in a tenant of its own,
 * so adapters backed by a shared database need no cleanup between tests.
 */
public abstract class DocumentsConformanceTest {
    /** The document settings every adapter is opened with (keys under the documents node). */
    protected static final Map<String, String> SETTINGS = Map.ofEntries(
            Map.entry("max-document-bytes", "4096"),
            Map.entry("types.stock_level.counters.0", "quantity"),
            Map.entry("types.stock_level.invariants.0", "quantity >= 0"),
            Map.entry("types.stock_level.channels.0", "location:{locationId}"),
            Map.entry("types.stock_level.strategy", "manual"),
            Map.entry("types.note_sw.strategy", "server-wins"),
            Map.entry("types.note_cw.strategy", "client-wins"),
            Map.entry("types.note_manual.strategy", "manual"),
            Map.entry("types.note_strict.merge", "false"),
            Map.entry("types.note_strict.strategy", "server-wins"));

    /** The store under test. */
    protected Documents docs;
    /** A user of this test's own tenant. */
    protected Principal alice;
    /** Another user of the same tenant. */
    protected Principal bob;
    /** What the listener heard. */
    protected final List<DocumentChange> changes = new CopyOnWriteArrayList<>();
    /** The conflicts the listener heard about. */
    protected final List<ConflictRecord> conflicts = new CopyOnWriteArrayList<>();

    /**
     * Opens the adapter.
     *
     * @param settings the suite's document settings ({@link #SETTINGS}), to which the adapter
     *                 adds its database settings
     */
    protected abstract Documents open(Map<String, String> settings);

    @BeforeEach
    void openStore() {
        String tenant = "t-" + UUID.randomUUID().toString().substring(0, 8);
        alice = principal(tenant, "alice");
        bob = principal(tenant, "bob");
        docs = open(SETTINGS);
        docs.listen(new DocumentListener() {
            @Override
            public void changed(DocumentChange change) {
                changes.add(change);
            }

            @Override
            public void conflicted(ConflictRecord conflict) {
                conflicts.add(conflict);
            }
        });
    }

    @AfterEach
    void closeStore() {
        if (docs != null) {
            docs.close();
        }
    }

    // ------------------------------------------------------------------ versions and replay

    @Test
    void createUpdateAndReadAdvanceTheVersionByOne() {
        DocRef ref = new DocRef("note", "n1");
        OpResult.Applied created = applied(docs.apply(alice, replace(ref, 0, "a:1", obj("title", "hello"))));
        assertEquals(1, created.version());
        OpResult.Applied patched = applied(docs.apply(bob, set(ref, 1, "b:1", "body", "text")));
        assertEquals(2, patched.version());

        Document doc = docs.get(alice, ref).orElseThrow();
        assertEquals(2, doc.version());
        assertEquals(obj("title", "hello", "body", "text"), doc.data());
        assertEquals("bob", doc.updatedBy());
        assertFalse(doc.deleted());
        assertEquals(patched.document(), doc);
    }

    @Test
    void aReplayedOpIdIsADuplicateAndChangesNothing() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("n", 1)));
        OpResult again = docs.apply(alice, replace(ref, 0, "a:1", obj("n", 1)));
        OpResult.Duplicate dup = assertInstanceOf(OpResult.Duplicate.class, again);
        assertEquals(1, dup.version());
        assertEquals(Optional.of("applied"), dup.original());
        assertEquals(1, docs.get(alice, ref).orElseThrow().version());
        assertEquals(1, changes.size(), "a duplicate is not announced");
    }

    @Test
    void updatingAnUnknownDocumentIsNotFoundAndWritesNothing() {
        DocRef ref = new DocRef("note", "missing");
        OpResult r = docs.apply(alice, set(ref, 3, "a:1", "x", "y"));
        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(r).code());
        assertTrue(docs.get(alice, ref).isEmpty());
        // nothing remembered: the same op can apply once the document exists
        docs.apply(alice, replace(ref, 0, "a:2", obj("x", "0")));
        assertInstanceOf(OpResult.Merged.class, docs.apply(alice, set(ref, 0, "a:1", "z", "1")));
    }

    @Test
    void aBaseVersionAheadOfTheDocumentIsABadRequest() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("n", 1)));
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs.apply(alice, set(ref, 5, "a:2", "n", 2))).code());
    }

    @Test
    void deleteLeavesAVersionedTombstoneThatOnlyAReplaceAtItsVersionRevives() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("n", 1)));
        OpResult.Applied deleted = applied(docs.apply(alice, new DocOp(ref, 1, "a:2", new Edit.Delete())));
        assertEquals(2, deleted.version());
        Document tomb = docs.get(alice, ref).orElseThrow();
        assertTrue(tomb.deleted());
        assertEquals(2, tomb.version());

        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(docs.apply(alice, set(ref, 2, "a:3", "n", 2))).code());
        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(docs.apply(alice, set(ref, 1, "a:4", "n", 2))).code());
        OpResult.Applied revived = applied(docs.apply(alice, replace(ref, 2, "a:5", obj("n", 3))));
        assertEquals(3, revived.version());
        assertFalse(docs.get(alice, ref).orElseThrow().deleted());
        assertEquals("doc.deleted", changes.get(1).eventType());
    }

    @Test
    void documentsAndConflictsAreInvisibleToOtherTenants() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("t", "a")));
        docs.apply(alice, set(ref, 1, "a:2", "t", "b"));
        ConflictRecord c = conflict(docs.apply(bob, set(ref, 1, "b:1", "t", "c")));
        Principal mallory = principal("other-" + alice.tenant(), "mallory");
        assertTrue(docs.get(mallory, ref).isEmpty());
        assertTrue(docs.getConflict(mallory, c.id()).isEmpty());
        assertTrue(docs.listConflicts(mallory, ConflictFilter.all()).isEmpty());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> docs.resolve(mallory, c.id(), Resolution.acceptLocal()));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        // the same opId in another tenant is another operation
        assertInstanceOf(OpResult.Applied.class, docs.apply(mallory, replace(ref, 0, "a:1", obj("t", "m"))));
    }

    // ------------------------------------------------------------------ policies

    @Test
    void concurrentChangesOfDifferentFieldsMergeWithoutConflict() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs.apply(bob, set(ref, 1, "b:1", "b", 3)));
        assertEquals(List.of(), m.fields());
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(3, m.version());
        assertEquals(obj("a", 2, "b", 3), docs.get(alice, ref).orElseThrow().data());
        AuditEntry merge = docs.audit(alice, ref, 10).getLast();
        assertEquals("merge", merge.action());
        assertEquals("merge", merge.strategy());
        assertEquals(2, merge.versionBefore());
        assertEquals(3, merge.versionAfter());
        assertEquals("bob", merge.actor());
        assertEquals(obj("a", 2, "b", 1), merge.before());
        assertEquals(obj("a", 2, "b", 3), merge.after());
    }

    @Test
    void wholeDataUpdatesMergeFieldByFieldAgainstTheirBase() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1, "b", 1, "c", 1)));
        docs.apply(alice, replace(ref, 1, "a:2", obj("a", 2, "b", 1, "c", 1)));
        // bob changed b and removed c on top of version 1
        OpResult.Merged m = merged(docs.apply(bob, replace(ref, 1, "b:1", obj("a", 1, "b", 5))));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 2, "b", 5), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void theSameFieldGoesToTheLatestReceivedWriteByDefault() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs.apply(bob, patch(ref, 1, "b:1", Map.of("a", num(3), "b", num(4)))));
        assertEquals(List.of("a"), m.fields());
        assertEquals(Strategy.LAST_WRITE_WINS, m.strategy());
        assertEquals(obj("a", 3, "b", 4), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void serverWinsKeepsTheStoredValueOfOverlappingFieldsOnly() {
        DocRef ref = new DocRef("note_sw", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs.apply(bob, patch(ref, 1, "b:1", Map.of("a", num(3), "b", num(4)))));
        assertEquals(List.of("a"), m.fields());
        assertEquals(Strategy.SERVER_WINS, m.strategy());
        assertEquals(obj("a", 2, "b", 4), docs.get(alice, ref).orElseThrow().data());

        // when the server wins every change, no version is made, and the merge is still audited
        OpResult.Merged kept = merged(docs.apply(bob, set(ref, 1, "b:2", "a", 9)));
        assertEquals(3, kept.version());
        assertEquals(3, docs.get(alice, ref).orElseThrow().version());
        assertEquals(2, docs.audit(alice, ref, 10).size());
    }

    @Test
    void clientWinsTakesTheIncomingValue() {
        DocRef ref = new DocRef("note_cw", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs.apply(bob, set(ref, 1, "b:1", "a", 3)));
        assertEquals(Strategy.CLIENT_WINS, m.strategy());
        assertEquals(obj("a", 3), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void withMergeOffEveryFieldOfAConcurrentChangeOverlaps() {
        DocRef ref = new DocRef("note_strict", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs.apply(bob, set(ref, 1, "b:1", "b", 3)));
        assertEquals(List.of("b"), m.fields());
        assertEquals(Strategy.SERVER_WINS, m.strategy());
        assertEquals(obj("a", 2, "b", 1), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void bothSidesSettingTheSameValueIsNoConflict() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1)));
        docs.apply(alice, set(ref, 1, "a:2", "a", 2));
        assertEquals(Strategy.MERGE, merged(docs.apply(bob, set(ref, 1, "b:1", "a", 2))).strategy());
    }

    @Test
    void aClientsOwnQueuedChangesNeverConflictWithEachOther() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "alice-phone:1", obj("a", 1)));
        // offline, the phone edits a twice on top of version 1, the last version it saw
        applied(docs.apply(alice, set(ref, 1, "alice-phone:2", "a", 2)));
        OpResult.Merged m = merged(docs.apply(alice, set(ref, 1, "alice-phone:3", "a", 3)));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 3), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void concurrentCreatorsMergeLikeAnyConcurrentChange() {
        DocRef ref = new DocRef("note_manual", "n1");
        applied(docs.apply(alice, replace(ref, 0, "a:1", obj("a", 1))));
        OpResult.Merged m = merged(docs.apply(bob, replace(ref, 0, "b:1", obj("b", 2))));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 1, "b", 2), docs.get(alice, ref).orElseThrow().data());
    }

    // ------------------------------------------------------------------ counters and invariants

    @Test
    void counterDeltasCommuteAndNeverConflict() {
        DocRef ref = stock("A-1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("quantity", 10, "locationId", "wh-7")));
        docs.apply(alice, inc(ref, 1, "a:2", "quantity", -3));
        OpResult.Merged m = merged(docs.apply(bob, inc(ref, 1, "b:1", "quantity", 5)));
        assertEquals(List.of(), m.fields());
        assertEquals(new BigDecimal("12"), docs.get(alice, ref).orElseThrow().data().get("quantity").decimalValue());
    }

    @Test
    void anOversellIsRejectedAsAConstraintRecordedAndNeverClamped() {
        DocRef ref = stock("A-1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("quantity", 2, "locationId", "wh-7")));
        OpResult.Rejected r = rejected(docs.apply(bob, inc(ref, 1, "b:1", "quantity", -3)));
        assertEquals(OpResult.Rejected.CONSTRAINT, r.code());
        assertTrue(r.reason().contains("quantity >= 0"), r.reason());
        Document doc = docs.get(alice, ref).orElseThrow();
        assertEquals(1, doc.version());
        assertEquals(2, doc.data().get("quantity").intValue());

        AuditEntry entry = docs.audit(alice, ref, 10).getLast();
        assertEquals("reject", entry.action());
        assertEquals(Optional.of("b:1"), entry.opId());
        // a replay (its first answer was lost) is told the same: rejected, and nothing changes
        OpResult.Rejected again = rejected(docs.apply(bob, inc(ref, 1, "b:1", "quantity", -3)));
        assertEquals(OpResult.Rejected.CONSTRAINT, again.code());
        assertEquals(1, docs.audit(alice, ref, 10).stream().filter(a -> a.action().equals("reject")).count());
        assertEquals(2, docs.get(alice, ref).orElseThrow().data().get("quantity").intValue());
    }

    @Test
    void malformedOrOversizedOpsAreRejectedWithACodeAndWriteNothing() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "x")));
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs.apply(alice, inc(ref, 1, "a:2", "title", 1))).code());
        // not remembered: the same op is judged again (and fails again)
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs.apply(alice, inc(ref, 1, "a:2", "title", 1))).code());

        String huge = "x".repeat(5000);
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, set(ref, 1, "a:3", "body", huge))).code());
        assertEquals(1, docs.get(alice, ref).orElseThrow().version());
        assertEquals(List.of(), docs.audit(alice, ref, 10));

    }

    // ------------------------------------------------------------------ manual conflicts

    @Test
    void aManualConflictIsRecordedResolvedOnceAndAudited() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "t0", "body", "b0")));
        docs.apply(alice, set(ref, 1, "a:2", "title", "alice's"));
        OpResult r = docs.apply(bob, patch(ref, 1, "bob-laptop:1", Map.of("title", text("bob's"), "body", text("b1"))));
        ConflictRecord c = conflict(r);
        assertEquals(List.of("title"), c.fields());
        assertEquals(ConflictRecord.Status.OPEN, c.status());
        assertEquals(obj("title", "t0", "body", "b0"), c.base());
        assertEquals(obj("title", "alice's", "body", "b0"), c.server());
        assertEquals(obj("title", "bob's", "body", "b1"), c.local());
        assertEquals(Optional.of("bob-laptop"), c.clientId());
        assertEquals("bob", c.author());
        assertEquals(List.of(c), conflicts, "the author's devices are told");
        assertEquals(2, docs.get(alice, ref).orElseThrow().version(), "nothing of a held op is applied");
        assertEquals(List.of(c.id()), docs.listConflicts(alice, ConflictFilter.open()).stream().map(ConflictRecord::id).toList());
        assertEquals(c.id(), assertInstanceOf(OpResult.Conflict.class, docs.apply(bob, patch(ref, 1, "bob-laptop:1",
                Map.of("title", text("bob's"))))).record().id(), "a replay while open: the same conflict");

        Documents.Resolved res = docs.resolve(bob, c.id(), Resolution.acceptLocal());
        assertEquals(3, res.document().version());
        assertEquals(obj("title", "bob's", "body", "b1"), docs.get(alice, ref).orElseThrow().data());
        assertEquals(ConflictRecord.Status.RESOLVED, res.conflict().status());
        assertEquals(DocumentChange.Kind.RESOLVED, changes.getLast().kind());
        assertEquals(Optional.of(c.id()), changes.getLast().conflictId());

        ProtocolException twice = assertThrows(ProtocolException.class,
                () -> docs.resolve(alice, c.id(), Resolution.acceptServer()));
        assertEquals(ErrorCode.CONFLICT, twice.code());
        assertTrue(twice.getMessage().contains("already resolved"), twice.getMessage());

        ConflictRecord stored = docs.getConflict(alice, c.id()).orElseThrow();
        assertEquals(ConflictRecord.Status.RESOLVED, stored.status());
        ConflictRecord.Outcome outcome = stored.outcome().orElseThrow();
        assertEquals(Resolution.Kind.ACCEPT_LOCAL, outcome.resolution());
        assertEquals("bob", outcome.by());
        assertEquals(3, outcome.version());
        assertTrue(docs.listConflicts(alice, ConflictFilter.open()).isEmpty());
        assertEquals(1, docs.listConflicts(alice, new ConflictFilter(Optional.of("note_manual"),
                Optional.of(ConflictRecord.Status.RESOLVED), 10)).size());

        List<AuditEntry> trail = docs.audit(alice, ref, 10);
        assertEquals(List.of("conflict", "resolve"), trail.stream().map(AuditEntry::action).toList());
        AuditEntry resolve = trail.getLast();
        assertEquals("accept_local", resolve.strategy());
        assertEquals(List.of("title"), resolve.fields());
        assertEquals(Optional.of(c.id()), resolve.conflictId());
        assertEquals(obj("title", "alice's", "body", "b0"), resolve.before());
        assertEquals(obj("title", "bob's", "body", "b1"), resolve.after());
    }

    @Test
    void acceptServerKeepsTheConflictedFieldsAndAppliesTheRest() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "t0", "body", "b0")));
        docs.apply(alice, set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs.apply(bob, patch(ref, 1, "b:1", Map.of("title", text("bob's"), "body", text("b1")))));
        docs.resolve(bob, c.id(), Resolution.acceptServer());
        assertEquals(obj("title", "alice's", "body", "b1"), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void mergeResolutionWritesTheGivenData() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "t0")));
        docs.apply(alice, set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs.apply(bob, set(ref, 1, "b:1", "title", "bob's")));
        Documents.Resolved res = docs.resolve(alice, c.id(), Resolution.merge(obj("title", "alice's and bob's")));
        assertEquals(obj("title", "alice's and bob's"), res.document().data());
        assertEquals("alice", res.document().updatedBy());
        assertEquals("merge", docs.audit(alice, ref, 10).getLast().strategy());
    }

    @Test
    void resolvingAStaleConflictIsAClearErrorAndMarksItStale() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "t0")));
        docs.apply(alice, set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs.apply(bob, set(ref, 1, "b:1", "title", "bob's")));
        docs.apply(alice, set(ref, 2, "a:3", "other", "moved on"));
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs.resolve(bob, c.id(), Resolution.acceptLocal()));
        assertEquals(ErrorCode.CONFLICT, e.code());
        assertTrue(e.getMessage().contains("stale"), e.getMessage());
        assertEquals(ConflictRecord.Status.STALE, docs.getConflict(bob, c.id()).orElseThrow().status());
        assertEquals(3, docs.get(alice, ref).orElseThrow().version());
        ProtocolException unknown = assertThrows(ProtocolException.class,
                () -> docs.resolve(bob, "cf-nope", Resolution.acceptLocal()));
        assertEquals(ErrorCode.NOT_FOUND, unknown.code());
    }

    @Test
    void aResolutionThatBreaksAnInvariantIsRefused() {
        DocRef ref = stock("A-2");
        docs.apply(alice, replace(ref, 0, "a:1", obj("quantity", 5, "note", "n0")));
        docs.apply(alice, set(ref, 1, "a:2", "note", "alice"));
        ConflictRecord c = conflict(docs.apply(bob, set(ref, 1, "b:1", "note", "bob")));
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> docs.resolve(bob, c.id(), Resolution.merge(obj("quantity", -1, "note", "x"))));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals(ConflictRecord.Status.OPEN, docs.getConflict(bob, c.id()).orElseThrow().status());
        docs.resolve(bob, c.id(), Resolution.acceptServer());
    }

    // ------------------------------------------------------------------ offline batches

    @Test
    void aBatchAppliesInOrderOneResultPerOpAndARejectionBlocksNothing() {
        DocRef stock = stock("A-1");
        DocRef note = new DocRef("note", "n1");
        docs.apply(alice, replace(stock, 0, "a:1", obj("quantity", 1, "locationId", "wh-7")));
        List<DocOp> batch = List.of(
                inc(stock, 1, "phone:1", "quantity", -5),          // oversell: rejected
                replace(note, 0, "phone:2", obj("t", 1)),
                set(new DocRef("note", "missing"), 4, "phone:3", "t", 2), // not found
                inc(stock, 1, "phone:4", "quantity", 4),
                set(note, 1, "phone:5", "t", 3));
        List<OpResult> first = docs.sync(bob, batch);
        assertEquals(List.of("rejected", "applied", "rejected", "applied", "applied"),
                first.stream().map(OpResult::result).toList());
        assertEquals(List.of("phone:1", "phone:2", "phone:3", "phone:4", "phone:5"),
                first.stream().map(OpResult::opId).toList());
        Document before = docs.get(alice, stock).orElseThrow();
        assertEquals(5, before.data().get("quantity").intValue());

        List<OpResult> second = docs.sync(bob, batch);
        assertEquals(List.of("rejected", "duplicate", "rejected", "duplicate", "duplicate"),
                second.stream().map(OpResult::result).toList(), "a replay is told what became of each op");
        assertEquals(before, docs.get(alice, stock).orElseThrow());
        assertEquals(2, docs.get(alice, note).orElseThrow().version());
    }

    /** The acceptance case: an offline edit replayed after a concurrent change. */
    @Test
    void twoOfflineClientsReplayingInEitherOrderTwiceCountEveryDeltaExactlyOnce() {
        for (boolean phoneFirst : new boolean[] {true, false}) {
            DocRef ref = stock(phoneFirst ? "P-1" : "P-2");
            docs.apply(alice, replace(ref, 0, "setup-" + ref.id() + ":1", obj("quantity", 100, "locationId", "wh-7")));
            List<DocOp> phone = new ArrayList<>();
            List<DocOp> tablet = new ArrayList<>();
            int sum = 0;
            for (int i = 1; i <= 6; i++) {
                int a = i % 2 == 0 ? -i : i * 3;
                int b = i % 3 == 0 ? -2 : 7;
                sum += a + b;
                phone.add(inc(ref, 1, "phone-" + ref.id() + ":" + i, "quantity", a));
                tablet.add(inc(ref, 1, "tablet-" + ref.id() + ":" + i, "quantity", b));
            }
            List<List<DocOp>> order = phoneFirst ? List.of(phone, tablet, phone, tablet) : List.of(tablet, phone, tablet, phone);
            for (int round = 0; round < order.size(); round++) {
                List<OpResult> results = docs.sync(round % 2 == 0 ? alice : bob, order.get(round));
                String expected = round < 2 ? "applied|merged" : "duplicate";
                results.forEach(r -> assertTrue(r.result().matches(expected), r.toString()));
            }
            Document doc = docs.get(alice, ref).orElseThrow();
            assertEquals(100 + sum, doc.data().get("quantity").intValue(), "order " + (phoneFirst ? "phone first" : "tablet first"));
            assertEquals(13, doc.version());
        }
    }

    // ------------------------------------------------------------------ notification

    @Test
    void listenersHearCommittedChangesWithTheirChannels() {
        DocRef ref = stock("A-1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("quantity", 3, "locationId", "wh-7")));
        docs.apply(alice, inc(ref, 1, "a:1", "quantity", 1));            // duplicate
        docs.apply(alice, inc(ref, 1, "a:2", "quantity", -9));           // rejected
        docs.apply(bob, inc(ref, 0, "b:1", "quantity", 2));              // merged
        assertEquals(2, changes.size());
        DocumentChange first = changes.getFirst();
        assertEquals(alice.tenant(), first.tenant());
        assertEquals(DocumentChange.Kind.APPLIED, first.kind());
        assertEquals(List.of("doc:stock_level:A-1", "location:wh-7"), first.channels().stream().map(Object::toString).toList());
        assertEquals(Optional.of("a:1"), first.opId());
        DocumentChange second = changes.getLast();
        assertEquals(DocumentChange.Kind.MERGED, second.kind());
        assertEquals(Optional.of(Strategy.MERGE), second.strategy());
        assertEquals(5, second.document().data().get("quantity").intValue());
        assertEquals("doc.changed", second.eventType());
    }

    @Test
    void aListenerThatThrowsDoesNotUndoTheChange() {
        docs.listen(c -> {
            throw new IllegalStateException("boom");
        });
        DocRef ref = new DocRef("note", "n1");
        applied(docs.apply(alice, replace(ref, 0, "a:1", obj("n", 1))));
        assertEquals(1, docs.get(alice, ref).orElseThrow().version());
    }

    // ------------------------------------------------------------------ concurrency

    /** Several writers on one document with stale bases: every delta counts once, every version once. */
    @Test
    @Timeout(60)
    void concurrentWritersLoseNoUpdate() throws Exception {
        DocRef ref = stock("HOT");
        int threads = 6;
        int perThread = concurrentOpsPerThread();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> sums = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                sums.add(pool.submit(() -> {
                    start.await();
                    int sum = 0;
                    for (int i = 1; i <= perThread; i++) {
                        int delta = ThreadLocalRandom.current().nextInt(1, 10);
                        // base 0: every thread races to create; later ops use whatever version they saw
                        long base = docs.get(alice, ref).map(Document::version).orElse(0L);
                        OpResult r = docs.apply(alice, inc(ref, base, "w" + thread + ":" + i, "quantity", delta));
                        assertTrue(r instanceof OpResult.Applied || r instanceof OpResult.Merged, r.toString());
                        sum += delta;
                    }
                    return sum;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : sums) {
                total += f.get(50, TimeUnit.SECONDS);
            }
            Document doc = docs.get(alice, ref).orElseThrow();
            assertEquals(total, doc.data().get("quantity").intValue());
            assertEquals((long) threads * perThread, doc.version());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The same offline batch replayed at the same time by several connections (a reconnect storm
     * across nodes): every operation takes effect exactly once, the other deliveries are duplicates.
     */
    @Test
    @Timeout(60)
    void concurrentReplaysOfOneBatchApplyEachOpExactlyOnce() throws Exception {
        DocRef ref = stock("STORM");
        docs.apply(alice, replace(ref, 0, "setup:1", obj("quantity", 0)));
        List<DocOp> batch = new ArrayList<>();
        int sum = 0;
        for (int i = 1; i <= 20; i++) {
            batch.add(inc(ref, 1, "tablet:" + i, "quantity", i));
            sum += i;
        }
        int replays = 4;
        ExecutorService pool = Executors.newFixedThreadPool(replays);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<List<OpResult>>> runs = new ArrayList<>();
            for (int t = 0; t < replays; t++) {
                runs.add(pool.submit(() -> {
                    start.await();
                    return docs.sync(bob, batch);
                }));
            }
            start.countDown();
            int[] effective = new int[batch.size()];
            for (Future<List<OpResult>> run : runs) {
                List<OpResult> results = run.get(50, TimeUnit.SECONDS);
                for (int i = 0; i < results.size(); i++) {
                    if (!(results.get(i) instanceof OpResult.Duplicate)) {
                        effective[i]++;
                    }
                }
            }
            for (int i = 0; i < effective.length; i++) {
                assertEquals(1, effective[i], "op " + batch.get(i).opId());
            }
            Document doc = docs.get(alice, ref).orElseThrow();
            assertEquals(sum, doc.data().get("quantity").intValue());
            assertEquals(1 + batch.size(), doc.version());
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ authors, guards, queries

    @Test
    void opIdsAreScopedToTheirAuthor() {
        DocRef ref = new DocRef("note", "shared");
        applied(docs.apply(alice, replace(ref, 0, "dev:1", obj("a", 1))));
        // bob sends alice's next opId first: it is his own operation, and hers still applies
        assertEquals("applied", docs.apply(bob, set(ref, 1, "dev:2", "b", 2)).result());
        assertEquals("applied", docs.apply(alice, set(ref, 2, "dev:2", "c", 3)).result());
        assertEquals(obj("a", 1, "b", 2, "c", 3), docs.get(alice, ref).orElseThrow().data());
        // a replay is a duplicate for its own author
        assertEquals(Optional.of("applied"), assertInstanceOf(OpResult.Duplicate.class,
                docs.apply(alice, set(ref, 2, "dev:2", "c", 3))).original());
        assertInstanceOf(OpResult.Duplicate.class, docs.apply(bob, set(ref, 1, "dev:2", "b", 2)));
        assertEquals(3, docs.get(alice, ref).orElseThrow().version());
    }

    @Test
    void theCreatorStaysTheDocumentsAuthor() {
        DocRef ref = new DocRef("note", "made-by-alice");
        docs.apply(alice, replace(ref, 0, "a:1", obj("t", 1)));
        docs.apply(bob, set(ref, 1, "b:1", "t", 2));
        Document doc = docs.get(bob, ref).orElseThrow();
        assertEquals("alice", doc.createdBy());
        assertEquals("bob", doc.updatedBy());
        assertEquals("alice", doc.toJson().get("createdBy").asText());
    }

    @Test
    void aGuardRefusalWritesNothingAndLeavesTheOpIdUnspent() {
        DocRef ref = new DocRef("note", "guarded");
        List<WriteGuard.Write> seen = new CopyOnWriteArrayList<>();
        WriteGuard refuse = w -> {
            seen.add(w);
            return Optional.of(new WriteGuard.Refusal("forbidden", "not yours"));
        };
        WriteGuard watch = w -> {
            seen.add(w);
            return Optional.empty();
        };
        OpResult.Rejected no = rejected(docs.apply(alice, replace(ref, 0, "a:1", obj("x", 1)), refuse));
        assertEquals("forbidden", no.code());
        assertEquals("not yours", no.reason());
        assertEquals(Optional.empty(), docs.get(alice, ref));
        assertEquals(List.of(), changes);
        WriteGuard.Write first = seen.getFirst();
        assertEquals("alice", first.who().user());
        assertEquals(Optional.empty(), first.stored());
        assertEquals(new WriteGuard.Change.Put(obj("x", 1)), first.change());

        // the same opId is judged anew: it was not spent
        assertEquals("applied", docs.apply(alice, replace(ref, 0, "a:1", obj("x", 1)), watch).result());
        // the guard sees what is stored and what the write would make of it
        assertEquals("applied", docs.apply(bob, set(ref, 1, "b:1", "y", 2), watch).result());
        WriteGuard.Write update = seen.getLast();
        assertEquals(1, update.stored().orElseThrow().version());
        assertEquals("alice", update.stored().orElseThrow().createdBy());
        assertEquals(new WriteGuard.Change.Put(obj("x", 1, "y", 2)), update.change());
        assertEquals("applied", docs.apply(bob, new DocOp(ref, 2, "b:2", new Edit.Delete()), watch).result());
        assertEquals(new WriteGuard.Change.Delete(), seen.getLast().change());
        // a refused delete leaves the document as it was
        docs.apply(alice, replace(ref, 3, "a:2", obj("z", 1)));
        assertEquals("forbidden", rejected(docs.apply(bob, new DocOp(ref, 4, "b:3", new Edit.Delete()), refuse)).code());
        assertFalse(docs.get(alice, ref).orElseThrow().deleted());
    }

    @Test
    void aGuardRefusalOfAResolutionChangesNothing() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, replace(ref, 0, "a:1", obj("t", "a")));
        docs.apply(alice, set(ref, 1, "a:2", "t", "b"));
        ConflictRecord c = conflict(docs.apply(bob, set(ref, 1, "b:1", "t", "c")));
        List<WriteGuard.Write> seen = new CopyOnWriteArrayList<>();
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs.resolve(alice, c.id(),
                Resolution.acceptLocal(), w -> {
                    seen.add(w);
                    return Optional.of(new WriteGuard.Refusal("forbidden", "only the author resolves"));
                }));
        assertEquals(ErrorCode.FORBIDDEN, e.code());
        assertEquals("only the author resolves", e.getMessage());
        assertEquals(Optional.of("bob"), seen.getFirst().author());
        assertEquals(Optional.of(c.id()), seen.getFirst().conflictId());
        assertEquals(ConflictRecord.Status.OPEN, docs.getConflict(alice, c.id()).orElseThrow().status());
        assertEquals(2, docs.get(alice, ref).orElseThrow().version());
        assertEquals(3, docs.resolve(bob, c.id(), Resolution.acceptLocal(), WriteGuard.ALLOW).document().version());
    }

    @Test
    void queriesPageThroughTheLiveDocumentsOfATypeByOneFieldInIdOrder() {
        for (String id : List.of("E", "A", "C", "B", "D")) {
            docs.apply(alice, replace(stock(id), 0, "q-" + id + ":1", obj("locationId", "wh-7", "quantity", 1)));
        }
        docs.apply(alice, replace(stock("F"), 0, "q-F:1", obj("locationId", "wh-8", "quantity", 1)));
        docs.apply(alice, replace(stock("G"), 0, "q-G:1", obj("locationId", "wh-7", "quantity", 1)));
        docs.apply(alice, new DocOp(stock("G"), 1, "q-G:2", new Edit.Delete()));
        docs.apply(alice, replace(new DocRef("note", "A"), 0, "q-n:1", obj("locationId", "wh-7")));
        Principal stranger = principal("other-" + alice.tenant(), "alice");
        docs.apply(stranger, replace(stock("A"), 0, "q-x:1", obj("locationId", "wh-7")));

        List<String> ids = new ArrayList<>();
        Optional<String> after = Optional.empty();
        int pages = 0;
        do {
            DocumentQuery.Page page = docs.query(alice, new DocumentQuery("stock_level", "locationId", text("wh-7"), 2, after));
            assertTrue(page.documents().size() <= 2);
            page.documents().forEach(d -> ids.add(d.ref().id()));
            after = page.next();
            assertTrue(++pages < 10, "pages never end");
        } while (after.isPresent());
        assertEquals(List.of("A", "B", "C", "D", "E"), ids);

        DocumentQuery.Page all = docs.query(alice, new DocumentQuery("stock_level", "locationId", text("wh-7"), 500,
                Optional.empty()));
        assertEquals(5, all.documents().size());
        assertEquals(Optional.empty(), all.next());
        Document a = all.documents().getFirst();
        assertEquals(docs.get(alice, stock("A")).orElseThrow(), a);
        assertEquals(List.of("A"), docs.query(stranger, new DocumentQuery("stock_level", "locationId", text("wh-7"), 10,
                Optional.empty())).documents().stream().map(d -> d.ref().id()).toList());
    }

    @Test
    void queriesMatchNumbersByValueAndBooleans() {
        docs.apply(alice, replace(new DocRef("task", "t1"), 0, "t:1", obj("qty", 7, "done", JsonNodeFactory.instance.booleanNode(true))));
        docs.apply(alice, replace(new DocRef("task", "t2"), 0, "t:2", obj("qty", com.fasterxml.jackson.databind.node.DecimalNode.valueOf(new BigDecimal("7.0")),
                "done", JsonNodeFactory.instance.booleanNode(false))));
        docs.apply(alice, replace(new DocRef("task", "t3"), 0, "t:3", obj("qty", "7", "done", "true")));
        assertEquals(List.of("t1", "t2"), ids(docs.query(alice, new DocumentQuery("task", "qty", num(7), 10, Optional.empty()))));
        assertEquals(List.of("t3"), ids(docs.query(alice, new DocumentQuery("task", "qty", text("7"), 10, Optional.empty()))));
        assertEquals(List.of("t1"), ids(docs.query(alice, new DocumentQuery("task", "done",
                JsonNodeFactory.instance.booleanNode(true), 10, Optional.empty()))));
    }

    @Test
    void aCursorTheStoreDidNotMakeIsABadRequest() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs.query(alice,
                new DocumentQuery("task", "qty", num(7), 10, Optional.of("%%not-a-cursor"))));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
    }

    @Test
    void openConflictsAreCountedPerAuthor() {
        DocRef ref = new DocRef("note_manual", "count");
        docs.apply(alice, replace(ref, 0, "a:1", obj("t", "a")));
        docs.apply(alice, set(ref, 1, "a:2", "t", "b"));
        conflict(docs.apply(bob, set(ref, 1, "b:1", "t", "c")));
        ConflictRecord second = conflict(docs.apply(bob, set(ref, 1, "b:2", "t", "d")));
        assertEquals(2, docs.countOpenConflicts(alice, "bob"));
        assertEquals(0, docs.countOpenConflicts(alice, "alice"));
        docs.resolve(bob, second.id(), Resolution.acceptServer());
        assertEquals(1, docs.countOpenConflicts(alice, "bob"), "the resolved one is no longer open");
        assertEquals(0, docs.countOpenConflicts(principal("other-" + alice.tenant(), "x"), "bob"));
    }

    @Test
    void aTypeNamesTheChannelsItsChangesArePublishedTo() {
        assertEquals(List.of("location:{locationId}"), docs.channelTemplates("stock_level"));
        assertEquals(List.of(), docs.channelTemplates("note"));
    }

    @Test
    void aLastWriteWinsOverwriteNamesTheUserWhoseValueWasLost() {
        DocRef ref = new DocRef("note", "lww");
        docs.apply(alice, replace(ref, 0, "a:1", obj("title", "first", "body", "x")));
        docs.apply(bob, set(ref, 1, "b:1", "title", "bob's"));
        // alice, offline at version 1, set the title: her later write wins over bob's value
        OpResult.Merged m = merged(docs.apply(alice, set(ref, 1, "a:2", "title", "alice's")));
        assertEquals(List.of("title"), m.fields());
        assertEquals(Strategy.LAST_WRITE_WINS, m.strategy());
        DocumentChange change = changes.getLast();
        assertEquals(List.of(new DocumentChange.Overwrite("bob", List.of("title"), obj("title", "bob's"),
                obj("title", "alice's"))), change.overwritten());
        // nobody is told when only their own value is replaced
        docs.apply(alice, set(ref, 3, "a:3", "body", "y"));
        docs.apply(alice, set(ref, 3, "other-device:1", "body", "z"));
        assertEquals(List.of(), changes.getLast().overwritten());
    }

    @Test
    void numbersAreBoundedOnWriteSoWhatIsStoredStaysReadable() {
        DocRef ref = new DocRef("note", "numbers");
        ObjectNode huge = obj("n", JsonNodeFactory.instance.numberNode(new java.math.BigInteger("9".repeat(900))));
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, replace(ref, 0, "a:1", huge))).code());
        applied(docs.apply(alice, replace(ref, 0, "a:2", obj("n", 1, "m",
                JsonNodeFactory.instance.numberNode(new java.math.BigInteger("9".repeat(100)))))));
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, new DocOp(ref, 1, "a:3",
                Edit.Patch.inc(Map.of("n", new BigDecimal("1e-300")))))).code());
        long start = System.nanoTime();
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, new DocOp(ref, 1, "a:4",
                Edit.Patch.inc(Map.of("n", new BigDecimal("1e1000000000")))))).code());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "refused before any arithmetic");
        // the result of an inc is bounded too: 100 nines plus one has 101 digits
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, inc(ref, 1, "a:5", "m", 1))).code());
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs.apply(alice, set(ref, 1, "a:6", "n",
                JsonNodeFactory.instance.numberNode(Double.POSITIVE_INFINITY)))).code());
        Document doc = docs.get(alice, ref).orElseThrow();
        assertEquals(1, doc.version());
        assertEquals(1, doc.data().get("n").intValue());
        assertEquals("applied", docs.apply(alice, inc(ref, 1, "a:7", "n", 1)).result());
    }

    @Test
    void aDeletionIsPublishedToTheChannelsThatCarriedTheDocument() {
        DocRef ref = stock("gone");
        docs.apply(alice, replace(ref, 0, "a:1", obj("quantity", 1, "locationId", "wh-7")));
        docs.apply(alice, new DocOp(ref, 1, "a:2", new Edit.Delete()));
        DocumentChange deleted = changes.getLast();
        assertTrue(deleted.document().deleted());
        assertEquals(List.of("doc:stock_level:gone", "location:wh-7"),
                deleted.channels().stream().map(Object::toString).toList());
    }

    private static List<String> ids(DocumentQuery.Page page) {
        return page.documents().stream().map(d -> d.ref().id()).toList();
    }

    /** How many operations each of the concurrent writers makes. */
    protected int concurrentOpsPerThread() {
        return 25;
    }

    // ------------------------------------------------------------------ helpers

    /** A principal of a tenant. */
    protected static Principal principal(String tenant, String user) {
        return new Principal(tenant, user, Set.of(), Map.of(), Optional.empty());
    }

    /** A stock level document. */
    protected static DocRef stock(String id) {
        return new DocRef("stock_level", id);
    }

    /** An object from alternating names and values. */
    protected static ObjectNode obj(Object... kv) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        for (int i = 0; i < kv.length; i += 2) {
            o.set((String) kv[i], node(kv[i + 1]));
        }
        return o;
    }

    private static JsonNode node(Object v) {
        return switch (v) {
            case JsonNode n -> n;
            case Integer i -> JsonNodeFactory.instance.numberNode(i);
            case String s -> JsonNodeFactory.instance.textNode(s);
            default -> throw new IllegalArgumentException(String.valueOf(v));
        };
    }

    /** A number node. */
    protected static JsonNode num(int v) {
        return JsonNodeFactory.instance.numberNode(v);
    }

    /** A text node. */
    protected static JsonNode text(String v) {
        return JsonNodeFactory.instance.textNode(v);
    }

    /** A whole-data operation. */
    protected static DocOp replace(DocRef ref, long base, String opId, ObjectNode data) {
        return new DocOp(ref, base, opId, new Edit.Replace(data));
    }

    /** A patch setting one field. */
    protected static DocOp set(DocRef ref, long base, String opId, String field, Object value) {
        return new DocOp(ref, base, opId, Edit.Patch.set(Map.of(field, node(value))));
    }

    /** A patch setting fields. */
    protected static DocOp patch(DocRef ref, long base, String opId, Map<String, JsonNode> values) {
        return new DocOp(ref, base, opId, Edit.Patch.set(values));
    }

    /** A patch incrementing one field. */
    protected static DocOp inc(DocRef ref, long base, String opId, String field, int delta) {
        return new DocOp(ref, base, opId, Edit.Patch.inc(Map.of(field, BigDecimal.valueOf(delta))));
    }

    private static OpResult.Applied applied(OpResult r) {
        return assertInstanceOf(OpResult.Applied.class, r);
    }

    private static OpResult.Merged merged(OpResult r) {
        return assertInstanceOf(OpResult.Merged.class, r);
    }

    private static OpResult.Rejected rejected(OpResult r) {
        return assertInstanceOf(OpResult.Rejected.class, r);
    }

    private static ConflictRecord conflict(OpResult r) {
        return assertInstanceOf(OpResult.Conflict.class, r).record();
    }

}
