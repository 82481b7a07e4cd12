package dev.tandem.conformance;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The part of the {@link Documents} port's contract about a client's queued edits: an operation
 * that names its predecessor ({@link DocOp#afterOpId()}) is judged against what its author is
 * known to have seen, waits ({@link OpResult.Held}) while the predecessor's manual conflict is
 * open, and keeps its own base when the predecessor is unknown; a replayed operation that met a
 * conflict is answered by where that conflict stands; a resolution repeated by its resolver (its
 * reply was lost) answers the first outcome. Every adapter runs it beside
 * {@link DocumentsConformanceTest} (as a nested class of its test), with the same settings.
 */
public abstract class QueuedEditsConformanceTest {
    private Documents docs;
    private Principal alice;
    private Principal bob;
    private final List<ConflictRecord> conflicts = new CopyOnWriteArrayList<>();

    /** Opens the adapter with the suite's settings ({@link DocumentsConformanceTest#SETTINGS}) plus its own. */
    protected abstract Documents open(Map<String, String> settings);

    @BeforeEach
    void openStore() {
        String tenant = "t-" + UUID.randomUUID().toString().substring(0, 8);
        alice = new Principal(tenant, "alice", Set.of(), Map.of(), Optional.empty());
        bob = new Principal(tenant, "bob", Set.of(), Map.of(), Optional.empty());
        docs = new Recording(open(DocumentsConformanceTest.SETTINGS), new DocumentListener() {
            @Override
            public void changed(DocumentChange change) {
                // the suite counts conflicts only
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

    @Test
    void editsInARowOfOneAuthorAreEachAppliedOnTopOfTheLast() {
        DocRef ref = new DocRef("note", "n1");
        docs.apply(alice, create(ref, "a:1", obj("title", "t", "n", 0)));
        List<OpResult> batch = docs.sync(alice, List.of(set(ref, 1, "a:2", null, "title", "u"),
                inc(ref, 1, "a:3", "a:2", "n", 1), set(ref, 1, "a:4", "a:3", "body", "b")));
        assertEquals(List.of("applied", "applied", "applied"), batch.stream().map(OpResult::result).toList());
        assertEquals(List.of(2L, 3L, 4L), batch.stream().map(r -> ((OpResult.Applied) r).version()).toList());
        // across batches too: the predecessor was answered before
        OpResult next = docs.apply(alice, set(ref, 1, "a:5", "a:4", "title", "v"));
        assertEquals(5, assertInstanceOf(OpResult.Applied.class, next).version());
        assertEquals(obj("title", "v", "n", 1, "body", "b"), docs.get(alice, ref).orElseThrow().data());
    }

    @Test
    void anotherWritersChangeAfterThePredecessorIsStillAConcurrentChange() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs.apply(alice, create(ref, "a:1", obj("title", "t", "body", "b")));
        docs.apply(alice, set(ref, 1, "a:2", null, "title", "alice"));
        docs.apply(bob, set(ref, 2, "b:1", null, "body", "bob"));
        OpResult disjoint = docs.apply(alice, set(ref, 1, "a:3", "a:2", "extra", "x"));
        assertEquals(List.of(), assertInstanceOf(OpResult.Merged.class, disjoint).fields());
        // the merge folded bob's body into version 4: alice has not seen it, so it stays concurrent
        OpResult overlapping = docs.apply(alice, set(ref, 1, "a:4", "a:3", "body", "alice's"));
        ConflictRecord c = assertInstanceOf(OpResult.Conflict.class, overlapping).record();
        assertEquals(List.of("body"), c.fields());
        assertEquals(2, c.baseVersion(), "judged against the version alice's applied edit produced");
        assertEquals("bob", c.server().get("body").asText());
    }

    @Test
    void anEditAfterAnOpenConflictIsHeldAndAppliesOnTopOfTheResolution() {
        DocRef ref = new DocRef("note_manual", "p1");
        docs.apply(alice, create(ref, "a:1", obj("price", 10, "qty", 5)));
        docs.apply(alice, set(ref, 1, "a:2", null, "price", 11));
        docs.apply(alice, set(ref, 2, "a:3", null, "note", "fresh"));
        docs.apply(bob, set(ref, 3, "b:1", null, "price", 12));
        List<OpResult> batch = docs.sync(alice, List.of(set(ref, 3, "a:4", null, "price", 13),
                inc(ref, 3, "a:5", "a:4", "qty", -1), set(ref, 3, "a:6", "a:5", "note", "later")));
        ConflictRecord c = assertInstanceOf(OpResult.Conflict.class, batch.get(0)).record();
        assertEquals(List.of(new OpResult.Held("a:5", c.id()), new OpResult.Held("a:6", c.id())), batch.subList(1, 3));
        assertEquals(4, docs.get(alice, ref).orElseThrow().version(), "nothing of a held edit is written");
        assertEquals(new OpResult.Held("a:5", c.id()), docs.apply(alice, inc(ref, 3, "a:5", "a:4", "qty", -1)),
                "held again: its opId is unspent");
        // a guard that blocks (a backend's hook) is not asked about an edit that waits, and it still waits
        List<WriteGuard.Write> judged = new CopyOnWriteArrayList<>();
        WriteGuard hook = w -> {
            judged.add(w);
            return Optional.empty();
        };
        assertEquals(new OpResult.Held("a:5", c.id()), docs.apply(alice, inc(ref, 3, "a:5", "a:4", "qty", -1), hook));
        assertEquals(List.of(), judged);

        Documents.Resolved resolved = docs.resolve(alice, c.id(), Resolution.merge(obj("price", 13, "qty", 5, "note",
                "fresh")));
        assertEquals(5, resolved.document().version(), "the held edits did not make the conflict stale");
        List<OpResult> after = docs.sync(alice, List.of(inc(ref, 3, "a:5", "a:4", "qty", -1),
                set(ref, 3, "a:6", "a:5", "note", "later")));
        assertEquals(List.of("applied", "applied"), after.stream().map(OpResult::result).toList());
        Document doc = docs.get(alice, ref).orElseThrow();
        assertEquals(7, doc.version());
        assertEquals(obj("price", 13, "qty", 4, "note", "later"), doc.data());
        assertEquals(1, conflicts.size(), "held edits raise no conflict of their own");
    }

    @Test
    void aPredecessorThatCameToNothingLeavesTheEditOnItsOwnBase() {
        DocRef stock = new DocRef("stock_level", "s1");
        docs.apply(alice, create(stock, "a:1", obj("quantity", 1, "note", "n")));
        OpResult oversell = docs.apply(alice, inc(stock, 1, "a:2", null, "quantity", -5));
        assertEquals(OpResult.Rejected.CONSTRAINT, assertInstanceOf(OpResult.Rejected.class, oversell).code());
        assertEquals("applied", docs.apply(alice, inc(stock, 1, "a:3", "a:2", "quantity", 2)).result());
        // unknown, or an edit of another document: the own base (here current) decides
        assertEquals("applied", docs.apply(alice, set(stock, 2, "a:4", "never-sent:1", "note", "m")).result());
        DocRef other = new DocRef("note", "o1");
        docs.apply(alice, create(other, "a:5", obj("x", 1)));
        assertEquals("applied", docs.apply(alice, set(stock, 3, "a:6", "a:5", "note", "o")).result());
        // another author's opId is not this author's predecessor: bob's change stays concurrent
        docs.apply(bob, set(stock, 4, "b:1", null, "note", "bob"));
        OpResult afterBobs = docs.apply(alice, set(stock, 4, "a:7", "b:1", "note", "alice"));
        assertEquals("conflict", afterBobs.result());

        DocRef manual = new DocRef("note_manual", "m1");
        docs.apply(alice, create(manual, "a:8", obj("title", "t")));
        docs.apply(bob, set(manual, 1, "b:2", null, "title", "bob"));
        ConflictRecord c = assertInstanceOf(OpResult.Conflict.class,
                docs.apply(alice, set(manual, 1, "a:9", null, "title", "alice"))).record();
        docs.apply(bob, set(manual, 2, "b:3", null, "other", "moved on"));
        org.junit.jupiter.api.Assertions.assertThrows(dev.tandem.protocol.ProtocolException.class,
                () -> docs.resolve(alice, c.id(), Resolution.acceptLocal()));
        // the predecessor's conflict went stale: judged on what it was judged against (1), so
        // bob's title (version 2) is still a concurrent change
        OpResult follower = docs.apply(alice, set(manual, 1, "a:10", "a:9", "title", "alice again"));
        assertEquals(List.of("title"), assertInstanceOf(OpResult.Conflict.class, follower).record().fields());
    }

    @Test
    void aReplayOfAConflictedEditIsAnsweredByWhereItsConflictStands() {
        DocRef ref = new DocRef("note_manual", "r1");
        docs.apply(alice, create(ref, "a:1", obj("title", "t")));
        docs.apply(bob, set(ref, 1, "b:1", null, "title", "bob"));
        DocOp mine = set(ref, 1, "a:2", null, "title", "alice");
        ConflictRecord c = assertInstanceOf(OpResult.Conflict.class, docs.apply(alice, mine)).record();
        ConflictRecord again = assertInstanceOf(OpResult.Conflict.class, docs.apply(alice, mine)).record();
        assertEquals(c.id(), again.id(), "open: the same conflict, so the author's device keeps waiting for it");
        assertEquals(1, conflicts.size(), "announced once");
        Documents.Resolved r = docs.resolve(alice, c.id(), Resolution.acceptLocal());
        OpResult.Duplicate dup = assertInstanceOf(OpResult.Duplicate.class, docs.apply(alice, mine));
        assertEquals(r.document().version(), dup.version(), "resolved: a duplicate at the resolution's version");

        DocRef stale = new DocRef("note_manual", "r2");
        docs.apply(alice, create(stale, "a:3", obj("title", "t")));
        docs.apply(bob, set(stale, 1, "b:2", null, "title", "bob"));
        DocOp lost = set(stale, 1, "a:4", null, "title", "alice");
        ConflictRecord s = assertInstanceOf(OpResult.Conflict.class, docs.apply(alice, lost)).record();
        docs.apply(bob, set(stale, 2, "b:3", null, "title", "bob again"));
        org.junit.jupiter.api.Assertions.assertThrows(dev.tandem.protocol.ProtocolException.class,
                () -> docs.resolve(alice, s.id(), Resolution.acceptLocal()));
        OpResult.Rejected rejected = assertInstanceOf(OpResult.Rejected.class, docs.apply(alice, lost));
        assertEquals(OpResult.Rejected.STALE, rejected.code(), "stale: it never took effect, and says so");
    }

    @Test
    void aResolutionRepeatedByItsResolverAnswersTheFirstOutcome() {
        DocRef ref = new DocRef("note_manual", "q1");
        docs.apply(alice, create(ref, "a:1", obj("title", "t", "body", "b")));
        docs.apply(bob, set(ref, 1, "b:1", null, "title", "bob"));
        ConflictRecord c = assertInstanceOf(OpResult.Conflict.class,
                docs.apply(alice, set(ref, 1, "a:2", null, "title", "alice"))).record();
        Resolution merged = Resolution.merge(obj("title", "both", "body", "b"));
        Documents.Resolved first = docs.resolve(alice, c.id(), merged);
        Documents.Resolved again = docs.resolve(alice, c.id(), Resolution.merge(obj("title", "both", "body", "b")));
        assertEquals(first.document(), again.document(), "the reply that was lost, again");
        assertEquals(3, docs.get(alice, ref).orElseThrow().version(), "written once");
        for (Resolution other : List.of(Resolution.acceptLocal(), Resolution.merge(obj("title", "other")))) {
            assertEquals(dev.tandem.protocol.ErrorCode.CONFLICT, org.junit.jupiter.api.Assertions.assertThrows(
                    dev.tandem.protocol.ProtocolException.class, () -> docs.resolve(alice, c.id(), other)).code(),
                    "another resolution is a second one: refused");
        }
        assertEquals(dev.tandem.protocol.ErrorCode.CONFLICT, org.junit.jupiter.api.Assertions.assertThrows(
                dev.tandem.protocol.ProtocolException.class, () -> docs.resolve(bob, c.id(), merged)).code(),
                "and so is another user's");
    }

    // ------------------------------------------------------------------ helpers

    private static DocOp create(DocRef ref, String opId, ObjectNode data) {
        return new DocOp(ref, 0, opId, new Edit.Replace(data));
    }

    private static DocOp set(DocRef ref, long base, String opId, String after, String field, Object value) {
        return new DocOp(ref, base, opId, Edit.Patch.set(Map.of(field, obj("v", value).get("v"))),
                Optional.ofNullable(after));
    }

    private static DocOp inc(DocRef ref, long base, String opId, String after, String field, int delta) {
        return new DocOp(ref, base, opId, Edit.Patch.inc(Map.of(field, BigDecimal.valueOf(delta))),
                Optional.ofNullable(after));
    }

    private static ObjectNode obj(Object... kv) {
        return DocumentsFixture.obj(kv);
    }
}
