package dev.tandem.conformance;

import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Strategy;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.inc;
import static dev.tandem.conformance.DocumentsFixture.merged;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a write hands back to be published: the committed change with its channels (none for a
 * duplicate), a deletion to the channels that carried the document, and the user whose value a
 * last write overwrote.
 */
interface DocumentChangesContract extends DocumentsFixture {
    @Test
    default void writesHandBackTheirCommittedChangesWithTheirChannels() {
        DocRef ref = stock("A-1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("quantity", 3, "locationId", "wh-7")));
        docs().apply(alice(), inc(ref, 1, "a:1", "quantity", 1));            // duplicate
        docs().apply(alice(), inc(ref, 1, "a:2", "quantity", -9));           // rejected
        docs().apply(bob(), inc(ref, 0, "b:1", "quantity", 2));              // merged
        assertEquals(2, changes().size());
        DocumentChange first = changes().getFirst();
        assertEquals(alice().tenant(), first.tenant());
        assertEquals(DocumentChange.Kind.APPLIED, first.kind());
        assertEquals(List.of("doc:stock_level:A-1", "location:wh-7"), first.channels().stream().map(Object::toString).toList());
        assertEquals(Optional.of("a:1"), first.opId());
        DocumentChange second = changes().getLast();
        assertEquals(DocumentChange.Kind.MERGED, second.kind());
        assertEquals(Optional.of(Strategy.MERGE), second.strategy());
        assertEquals(5, second.document().data().get("quantity").intValue());
        assertEquals("doc.changed", second.eventType());
    }

    @Test
    default void aWriteHandsBackWhatItCommittedAndNothingForADuplicate() {
        DocRef ref = new DocRef("note", "n1");
        Written<OpResult> first = docs().write(alice(), replace(ref, 0, "a:1", obj("n", 1)), WriteGuard.ALLOW);
        assertEquals(1, first.change().orElseThrow().document().version());
        Written<OpResult> again = docs().write(alice(), replace(ref, 0, "a:1", obj("n", 1)), WriteGuard.ALLOW);
        assertInstanceOf(OpResult.Duplicate.class, again.value());
        assertEquals(Optional.empty(), again.change());
    }

    @Test
    default void aTypeNamesTheChannelsItsChangesArePublishedTo() {
        assertEquals(List.of("location:{locationId}"), docs().channelTemplates("stock_level"));
        assertEquals(List.of(), docs().channelTemplates("note"));
    }

    @Test
    default void aLastWriteWinsOverwriteNamesTheUserWhoseValueWasLost() {
        DocRef ref = new DocRef("note", "lww");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "first", "body", "x")));
        docs().apply(bob(), set(ref, 1, "b:1", "title", "bob's"));
        // alice, offline at version 1, set the title: her later write wins over bob's value
        OpResult.Merged m = merged(docs().apply(alice(), set(ref, 1, "a:2", "title", "alice's")));
        assertEquals(List.of("title"), m.fields());
        assertEquals(Strategy.LAST_WRITE_WINS, m.strategy());
        DocumentChange change = changes().getLast();
        assertEquals(List.of(new DocumentChange.Overwrite("bob", List.of("title"), obj("title", "bob's"),
                obj("title", "alice's"))), change.overwritten());
        // nobody is told when only their own value is replaced
        docs().apply(alice(), set(ref, 3, "a:3", "body", "y"));
        docs().apply(alice(), set(ref, 3, "other-device:1", "body", "z"));
        assertEquals(List.of(), changes().getLast().overwritten());
    }

    @Test
    default void aDeletionIsPublishedToTheChannelsThatCarriedTheDocument() {
        DocRef ref = stock("gone");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("quantity", 1, "locationId", "wh-7")));
        docs().apply(alice(), new DocOp(ref, 1, "a:2", new Edit.Delete()));
        DocumentChange deleted = changes().getLast();
        assertTrue(deleted.document().deleted());
        assertEquals(List.of("doc:stock_level:gone", "location:wh-7"),
                deleted.channels().stream().map(Object::toString).toList());
    }
}
