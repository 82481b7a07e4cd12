package dev.tandem.conformance;

import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.applied;
import static dev.tandem.conformance.DocumentsFixture.conflict;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.principal;
import static dev.tandem.conformance.DocumentsFixture.rejected;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Versions and operation ids: each write advances the version by one, a replayed operation id
 * is a duplicate of its author's operation, unknown documents and bases ahead are refused, a
 * delete leaves a versioned tombstone, the creator stays the author, and documents and conflicts
 * stay in their tenant.
 */
interface DocumentVersionsContract extends DocumentsFixture {
    @Test
    default void createUpdateAndReadAdvanceTheVersionByOne() {
        DocRef ref = new DocRef("note", "n1");
        OpResult.Applied created = applied(docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "hello"))));
        assertEquals(1, created.version());
        OpResult.Applied patched = applied(docs().apply(bob(), set(ref, 1, "b:1", "body", "text")));
        assertEquals(2, patched.version());

        Document doc = docs().get(alice(), ref).orElseThrow();
        assertEquals(2, doc.version());
        assertEquals(obj("title", "hello", "body", "text"), doc.data());
        assertEquals("bob", doc.updatedBy());
        assertFalse(doc.deleted());
        assertEquals(patched.document(), doc);
    }

    @Test
    default void aReplayedOpIdIsADuplicateAndChangesNothing() {
        DocRef ref = new DocRef("note", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("n", 1)));
        OpResult again = docs().apply(alice(), replace(ref, 0, "a:1", obj("n", 1)));
        OpResult.Duplicate dup = assertInstanceOf(OpResult.Duplicate.class, again);
        assertEquals(1, dup.version());
        assertEquals(Optional.of("applied"), dup.original());
        assertEquals(1, docs().get(alice(), ref).orElseThrow().version());
        assertEquals(1, changes().size(), "a duplicate is not announced");
    }

    @Test
    default void updatingAnUnknownDocumentIsNotFoundAndWritesNothing() {
        DocRef ref = new DocRef("note", "missing");
        OpResult r = docs().apply(alice(), set(ref, 3, "a:1", "x", "y"));
        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(r).code());
        assertTrue(docs().get(alice(), ref).isEmpty());
        // nothing remembered: the same op can apply once the document exists
        docs().apply(alice(), replace(ref, 0, "a:2", obj("x", "0")));
        assertInstanceOf(OpResult.Merged.class, docs().apply(alice(), set(ref, 0, "a:1", "z", "1")));
    }

    @Test
    default void aBaseVersionAheadOfTheDocumentIsABadRequest() {
        DocRef ref = new DocRef("note", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("n", 1)));
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs().apply(alice(), set(ref, 5, "a:2", "n", 2))).code());
    }

    @Test
    default void deleteLeavesAVersionedTombstoneThatOnlyAReplaceAtItsVersionRevives() {
        DocRef ref = new DocRef("note", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("n", 1)));
        OpResult.Applied deleted = applied(docs().apply(alice(), new DocOp(ref, 1, "a:2", new Edit.Delete())));
        assertEquals(2, deleted.version());
        Document tomb = docs().get(alice(), ref).orElseThrow();
        assertTrue(tomb.deleted());
        assertEquals(2, tomb.version());

        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(docs().apply(alice(), set(ref, 2, "a:3", "n", 2))).code());
        assertEquals(OpResult.Rejected.NOT_FOUND, rejected(docs().apply(alice(), set(ref, 1, "a:4", "n", 2))).code());
        OpResult.Applied revived = applied(docs().apply(alice(), replace(ref, 2, "a:5", obj("n", 3))));
        assertEquals(3, revived.version());
        assertFalse(docs().get(alice(), ref).orElseThrow().deleted());
        assertEquals("doc.deleted", changes().get(1).eventType());
    }

    @Test
    default void documentsAndConflictsAreInvisibleToOtherTenants() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("t", "a")));
        docs().apply(alice(), set(ref, 1, "a:2", "t", "b"));
        ConflictRecord c = conflict(docs().apply(bob(), set(ref, 1, "b:1", "t", "c")));
        Principal mallory = principal("other-" + alice().tenant(), "mallory");
        assertTrue(docs().get(mallory, ref).isEmpty());
        assertTrue(docs().getConflict(mallory, c.id()).isEmpty());
        assertTrue(docs().listConflicts(mallory, ConflictFilter.all()).isEmpty());
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> docs().resolve(mallory, c.id(), Resolution.acceptLocal()));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        // the same opId in another tenant is another operation
        assertInstanceOf(OpResult.Applied.class, docs().apply(mallory, replace(ref, 0, "a:1", obj("t", "m"))));
    }

    @Test
    default void opIdsAreScopedToTheirAuthor() {
        DocRef ref = new DocRef("note", "shared");
        applied(docs().apply(alice(), replace(ref, 0, "dev:1", obj("a", 1))));
        // bob sends alice's next opId first: it is his own operation, and hers still applies
        assertEquals("applied", docs().apply(bob(), set(ref, 1, "dev:2", "b", 2)).result());
        assertEquals("applied", docs().apply(alice(), set(ref, 2, "dev:2", "c", 3)).result());
        assertEquals(obj("a", 1, "b", 2, "c", 3), docs().get(alice(), ref).orElseThrow().data());
        // a replay is a duplicate for its own author
        assertEquals(Optional.of("applied"), assertInstanceOf(OpResult.Duplicate.class,
                docs().apply(alice(), set(ref, 2, "dev:2", "c", 3))).original());
        assertInstanceOf(OpResult.Duplicate.class, docs().apply(bob(), set(ref, 1, "dev:2", "b", 2)));
        assertEquals(3, docs().get(alice(), ref).orElseThrow().version());
    }

    @Test
    default void theCreatorStaysTheDocumentsAuthor() {
        DocRef ref = new DocRef("note", "made-by-alice");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("t", 1)));
        docs().apply(bob(), set(ref, 1, "b:1", "t", 2));
        Document doc = docs().get(bob(), ref).orElseThrow();
        assertEquals("alice", doc.createdBy());
        assertEquals("bob", doc.updatedBy());
        assertEquals("alice", doc.toJson().get("createdBy").asText());
    }
}
