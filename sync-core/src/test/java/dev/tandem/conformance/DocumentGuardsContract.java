package dev.tandem.conformance;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.tandem.conformance.DocumentsFixture.conflict;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.rejected;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Write guards (the backend's hook): a refusal writes nothing and leaves the operation id
 * unspent, also for a resolution; a blocking guard judges with no row lock held and again when
 * the outcome moved, and a document that keeps moving makes the write unavailable.
 */
interface DocumentGuardsContract extends DocumentsFixture {
    @Test
    default void aGuardRefusalWritesNothingAndLeavesTheOpIdUnspent() {
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
        OpResult.Rejected no = rejected(docs().apply(alice(), replace(ref, 0, "a:1", obj("x", 1)), refuse));
        assertEquals("forbidden", no.code());
        assertEquals("not yours", no.reason());
        assertEquals(Optional.empty(), docs().get(alice(), ref));
        assertEquals(List.of(), changes());
        WriteGuard.Write first = seen.getFirst();
        assertEquals("alice", first.who().user());
        assertEquals(Optional.empty(), first.stored());
        assertEquals(new WriteGuard.Change.Put(obj("x", 1)), first.change());

        // the same opId is judged anew: it was not spent
        assertEquals("applied", docs().apply(alice(), replace(ref, 0, "a:1", obj("x", 1)), watch).result());
        // the guard sees what is stored and what the write would make of it
        assertEquals("applied", docs().apply(bob(), set(ref, 1, "b:1", "y", 2), watch).result());
        WriteGuard.Write update = seen.getLast();
        assertEquals(1, update.stored().orElseThrow().version());
        assertEquals("alice", update.stored().orElseThrow().createdBy());
        assertEquals(new WriteGuard.Change.Put(obj("x", 1, "y", 2)), update.change());
        assertEquals("applied", docs().apply(bob(), new DocOp(ref, 2, "b:2", new Edit.Delete()), watch).result());
        assertEquals(new WriteGuard.Change.Delete(), seen.getLast().change());
        // a refused delete leaves the document as it was
        docs().apply(alice(), replace(ref, 3, "a:2", obj("z", 1)));
        assertEquals("forbidden", rejected(docs().apply(bob(), new DocOp(ref, 4, "b:3", new Edit.Delete()), refuse)).code());
        assertFalse(docs().get(alice(), ref).orElseThrow().deleted());
    }

    @Test
    default void aGuardRefusalOfAResolutionChangesNothing() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("t", "a")));
        docs().apply(alice(), set(ref, 1, "a:2", "t", "b"));
        ConflictRecord c = conflict(docs().apply(bob(), set(ref, 1, "b:1", "t", "c")));
        List<WriteGuard.Write> seen = new CopyOnWriteArrayList<>();
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs().resolve(alice(), c.id(),
                Resolution.acceptLocal(), w -> {
                    seen.add(w);
                    return Optional.of(new WriteGuard.Refusal("forbidden", "only the author resolves"));
                }));
        assertEquals(ErrorCode.FORBIDDEN, e.code());
        assertEquals("only the author resolves", e.getMessage());
        assertEquals(Optional.of("bob"), seen.getFirst().author());
        assertEquals(Optional.of(c.id()), seen.getFirst().conflictId());
        assertEquals(ConflictRecord.Status.OPEN, docs().getConflict(alice(), c.id()).orElseThrow().status());
        assertEquals(2, docs().get(alice(), ref).orElseThrow().version());
        assertEquals(3, docs().resolve(bob(), c.id(), Resolution.acceptLocal(), WriteGuard.ALLOW).document().version());
    }

    /**
     * A blocking guard (a backend's hook) is asked with no row lock held: another writer of the
     * same document gets through while it judges, and the write is judged again on its new outcome.
     */
    @Test
    @Timeout(60)
    default void aBlockingGuardJudgesWithNoRowLockHeldAndAgainWhenTheOutcomeMoved() {
        DocRef ref = new DocRef("note", "hooked");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("x", 1)));
        List<WriteGuard.Write> seen = new CopyOnWriteArrayList<>();
        List<OpResult> others = new CopyOnWriteArrayList<>();
        WriteGuard hook = w -> {
            seen.add(w);
            if (seen.size() == 1) {
                var other = CompletableFuture.supplyAsync(() -> docs().apply(bob(), set(ref, 1, "b:1", "y", 2)));
                try {
                    // under a row lock this would wait for the lock timeout
                    others.add(other.get(5, TimeUnit.SECONDS));
                } catch (Exception e) {
                    throw new AssertionError("a concurrent writer waited while the guard judged", e);
                }
            }
            return Optional.empty();
        };
        OpResult r = docs().apply(alice(), set(ref, 1, "a:2", "z", 3), hook);
        assertEquals("applied", others.getFirst().result());
        assertEquals("merged", r.result());
        assertEquals(obj("x", 1, "y", 2, "z", 3), docs().get(alice(), ref).orElseThrow().data());
        assertEquals(2, seen.size(), "judged again on the moved document");
        assertEquals(1, seen.get(0).stored().orElseThrow().version());
        assertEquals(2, seen.get(1).stored().orElseThrow().version());
        assertEquals(new WriteGuard.Change.Put(obj("x", 1, "y", 2, "z", 3)), seen.get(1).change());
    }

    @Test
    default void aWriteWhoseDocumentKeepsMovingWhileJudgedIsUnavailableAndWritesNothing() {
        DocRef ref = new DocRef("note", "busy");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("n", 0)));
        AtomicInteger asked = new AtomicInteger();
        WriteGuard hook = w -> {
            int n = asked.incrementAndGet();
            docs().apply(bob(), set(ref, n, "b:" + n, "n", n)); // the document moves while it is judged
            return Optional.empty();
        };
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> docs().apply(alice(), set(ref, 1, "a:2", "t", "x"), hook));
        assertEquals(ErrorCode.UNAVAILABLE, e.code());
        assertTrue(e.code().isTransient(), "a client retries it");
        assertEquals(3, asked.get(), "max-judgements");
        assertFalse(docs().get(alice(), ref).orElseThrow().data().has("t"));
        // nothing was spent: the same op goes through once the document is quiet
        assertEquals("applied", docs().apply(alice(), set(ref, 4, "a:2", "t", "x")).result());
    }
}
