package dev.tandem.conformance;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocRef;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Documents;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.conflict;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.patch;
import static dev.tandem.conformance.DocumentsFixture.principal;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static dev.tandem.conformance.DocumentsFixture.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Manual conflicts: recorded with base, server and local sides, told to the author, resolved
 * once (accept local, accept server, merge) and audited; a stale or invariant-breaking resolution
 * is refused; open conflicts are counted per author.
 */
interface DocumentConflictsContract extends DocumentsFixture {
    @Test
    default void aManualConflictIsRecordedResolvedOnceAndAudited() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "t0", "body", "b0")));
        docs().apply(alice(), set(ref, 1, "a:2", "title", "alice's"));
        OpResult r = docs().apply(bob(), patch(ref, 1, "bob-laptop:1", Map.of("title", text("bob's"), "body", text("b1"))));
        ConflictRecord c = conflict(r);
        assertEquals(List.of("title"), c.fields());
        assertEquals(ConflictRecord.Status.OPEN, c.status());
        assertEquals(obj("title", "t0", "body", "b0"), c.base());
        assertEquals(obj("title", "alice's", "body", "b0"), c.server());
        assertEquals(obj("title", "bob's", "body", "b1"), c.local());
        assertEquals(Optional.of("bob-laptop"), c.clientId());
        assertEquals("bob", c.author());
        assertEquals(List.of(c), conflicts(), "the author's devices are told");
        assertEquals(2, docs().get(alice(), ref).orElseThrow().version(), "nothing of a held op is applied");
        assertEquals(List.of(c.id()), docs().listConflicts(alice(), ConflictFilter.open()).stream().map(ConflictRecord::id).toList());
        assertEquals(c.id(), assertInstanceOf(OpResult.Conflict.class, docs().apply(bob(), patch(ref, 1, "bob-laptop:1",
                Map.of("title", text("bob's"))))).record().id(), "a replay while open: the same conflict");

        Documents.Resolved res = docs().resolve(bob(), c.id(), Resolution.acceptLocal());
        assertEquals(3, res.document().version());
        assertEquals(obj("title", "bob's", "body", "b1"), docs().get(alice(), ref).orElseThrow().data());
        assertEquals(ConflictRecord.Status.RESOLVED, res.conflict().status());
        assertEquals(DocumentChange.Kind.RESOLVED, changes().getLast().kind());
        assertEquals(Optional.of(c.id()), changes().getLast().conflictId());

        ProtocolException twice = assertThrows(ProtocolException.class,
                () -> docs().resolve(alice(), c.id(), Resolution.acceptServer()));
        assertEquals(ErrorCode.CONFLICT, twice.code());
        assertTrue(twice.getMessage().contains("already resolved"), twice.getMessage());

        ConflictRecord stored = docs().getConflict(alice(), c.id()).orElseThrow();
        assertEquals(ConflictRecord.Status.RESOLVED, stored.status());
        ConflictRecord.Outcome outcome = stored.outcome().orElseThrow();
        assertEquals(Resolution.Kind.ACCEPT_LOCAL, outcome.resolution());
        assertEquals("bob", outcome.by());
        assertEquals(3, outcome.version());
        assertTrue(docs().listConflicts(alice(), ConflictFilter.open()).isEmpty());
        assertEquals(1, docs().listConflicts(alice(), new ConflictFilter(Optional.of("note_manual"),
                Optional.of(ConflictRecord.Status.RESOLVED), 10)).size());

        List<AuditEntry> trail = docs().audit(alice(), ref, 10);
        assertEquals(List.of("conflict", "resolve"), trail.stream().map(AuditEntry::action).toList());
        AuditEntry resolve = trail.getLast();
        assertEquals("accept_local", resolve.strategy());
        assertEquals(List.of("title"), resolve.fields());
        assertEquals(Optional.of(c.id()), resolve.conflictId());
        assertEquals(obj("title", "alice's", "body", "b0"), resolve.before());
        assertEquals(obj("title", "bob's", "body", "b1"), resolve.after());
    }

    @Test
    default void acceptServerKeepsTheConflictedFieldsAndAppliesTheRest() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "t0", "body", "b0")));
        docs().apply(alice(), set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs().apply(bob(), patch(ref, 1, "b:1", Map.of("title", text("bob's"), "body", text("b1")))));
        docs().resolve(bob(), c.id(), Resolution.acceptServer());
        assertEquals(obj("title", "alice's", "body", "b1"), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void mergeResolutionWritesTheGivenData() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "t0")));
        docs().apply(alice(), set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs().apply(bob(), set(ref, 1, "b:1", "title", "bob's")));
        Documents.Resolved res = docs().resolve(alice(), c.id(), Resolution.merge(obj("title", "alice's and bob's")));
        assertEquals(obj("title", "alice's and bob's"), res.document().data());
        assertEquals("alice", res.document().updatedBy());
        assertEquals("merge", docs().audit(alice(), ref, 10).getLast().strategy());
    }

    @Test
    default void resolvingAStaleConflictIsAClearErrorAndMarksItStale() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "t0")));
        docs().apply(alice(), set(ref, 1, "a:2", "title", "alice's"));
        ConflictRecord c = conflict(docs().apply(bob(), set(ref, 1, "b:1", "title", "bob's")));
        docs().apply(alice(), set(ref, 2, "a:3", "other", "moved on"));
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs().resolve(bob(), c.id(), Resolution.acceptLocal()));
        assertEquals(ErrorCode.CONFLICT, e.code());
        assertTrue(e.getMessage().contains("stale"), e.getMessage());
        assertEquals(ConflictRecord.Status.STALE, docs().getConflict(bob(), c.id()).orElseThrow().status());
        assertEquals(3, docs().get(alice(), ref).orElseThrow().version());
        ProtocolException unknown = assertThrows(ProtocolException.class,
                () -> docs().resolve(bob(), "cf-nope", Resolution.acceptLocal()));
        assertEquals(ErrorCode.NOT_FOUND, unknown.code());
    }

    @Test
    default void aResolutionThatBreaksAnInvariantIsRefused() {
        DocRef ref = stock("A-2");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("quantity", 5, "note", "n0")));
        docs().apply(alice(), set(ref, 1, "a:2", "note", "alice"));
        ConflictRecord c = conflict(docs().apply(bob(), set(ref, 1, "b:1", "note", "bob")));
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> docs().resolve(bob(), c.id(), Resolution.merge(obj("quantity", -1, "note", "x"))));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals(ConflictRecord.Status.OPEN, docs().getConflict(bob(), c.id()).orElseThrow().status());
        docs().resolve(bob(), c.id(), Resolution.acceptServer());
    }

    @Test
    default void openConflictsAreCountedPerAuthor() {
        DocRef ref = new DocRef("note_manual", "count");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("t", "a")));
        docs().apply(alice(), set(ref, 1, "a:2", "t", "b"));
        conflict(docs().apply(bob(), set(ref, 1, "b:1", "t", "c")));
        ConflictRecord second = conflict(docs().apply(bob(), set(ref, 1, "b:2", "t", "d")));
        assertEquals(2, docs().countOpenConflicts(alice(), "bob"));
        assertEquals(0, docs().countOpenConflicts(alice(), "alice"));
        docs().resolve(bob(), second.id(), Resolution.acceptServer());
        assertEquals(1, docs().countOpenConflicts(alice(), "bob"), "the resolved one is no longer open");
        assertEquals(0, docs().countOpenConflicts(principal("other-" + alice().tenant(), "x"), "bob"));
    }
}
