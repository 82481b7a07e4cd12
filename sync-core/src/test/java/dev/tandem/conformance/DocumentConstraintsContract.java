package dev.tandem.conformance;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.applied;
import static dev.tandem.conformance.DocumentsFixture.inc;
import static dev.tandem.conformance.DocumentsFixture.merged;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.rejected;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Counters and what a write must satisfy: counter deltas commute, an invariant refuses an
 * oversell (recorded, never clamped), malformed and oversized operations and unbounded numbers are
 * refused with a code and write nothing.
 */
interface DocumentConstraintsContract extends DocumentsFixture {
    @Test
    default void counterDeltasCommuteAndNeverConflict() {
        DocRef ref = stock("A-1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("quantity", 10, "locationId", "wh-7")));
        docs().apply(alice(), inc(ref, 1, "a:2", "quantity", -3));
        OpResult.Merged m = merged(docs().apply(bob(), inc(ref, 1, "b:1", "quantity", 5)));
        assertEquals(List.of(), m.fields());
        assertEquals(new BigDecimal("12"), docs().get(alice(), ref).orElseThrow().data().get("quantity").decimalValue());
    }

    @Test
    default void anOversellIsRejectedAsAConstraintRecordedAndNeverClamped() {
        DocRef ref = stock("A-1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("quantity", 2, "locationId", "wh-7")));
        OpResult.Rejected r = rejected(docs().apply(bob(), inc(ref, 1, "b:1", "quantity", -3)));
        assertEquals(OpResult.Rejected.CONSTRAINT, r.code());
        assertTrue(r.reason().contains("quantity >= 0"), r.reason());
        Document doc = docs().get(alice(), ref).orElseThrow();
        assertEquals(1, doc.version());
        assertEquals(2, doc.data().get("quantity").intValue());

        AuditEntry entry = docs().audit(alice(), ref, 10).getLast();
        assertEquals("reject", entry.action());
        assertEquals(Optional.of("b:1"), entry.opId());
        // a replay (its first answer was lost) is told the same: rejected, and nothing changes
        OpResult.Rejected again = rejected(docs().apply(bob(), inc(ref, 1, "b:1", "quantity", -3)));
        assertEquals(OpResult.Rejected.CONSTRAINT, again.code());
        assertEquals(1, docs().audit(alice(), ref, 10).stream().filter(a -> a.action().equals("reject")).count());
        assertEquals(2, docs().get(alice(), ref).orElseThrow().data().get("quantity").intValue());
    }

    @Test
    default void malformedOrOversizedOpsAreRejectedWithACodeAndWriteNothing() {
        DocRef ref = new DocRef("note", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("title", "x")));
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs().apply(alice(), inc(ref, 1, "a:2", "title", 1))).code());
        // not remembered: the same op is judged again (and fails again)
        assertEquals(OpResult.Rejected.BAD_REQUEST, rejected(docs().apply(alice(), inc(ref, 1, "a:2", "title", 1))).code());

        String huge = "x".repeat(5000);
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), set(ref, 1, "a:3", "body", huge))).code());
        assertEquals(1, docs().get(alice(), ref).orElseThrow().version());
        assertEquals(List.of(), docs().audit(alice(), ref, 10));

    }

    @Test
    default void numbersAreBoundedOnWriteSoWhatIsStoredStaysReadable() {
        DocRef ref = new DocRef("note", "numbers");
        ObjectNode huge = obj("n", JsonNodeFactory.instance.numberNode(new java.math.BigInteger("9".repeat(900))));
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), replace(ref, 0, "a:1", huge))).code());
        applied(docs().apply(alice(), replace(ref, 0, "a:2", obj("n", 1, "m",
                JsonNodeFactory.instance.numberNode(new java.math.BigInteger("9".repeat(100)))))));
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), new DocOp(ref, 1, "a:3",
                Edit.Patch.inc(Map.of("n", new BigDecimal("1e-300")))))).code());
        long start = System.nanoTime();
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), new DocOp(ref, 1, "a:4",
                Edit.Patch.inc(Map.of("n", new BigDecimal("1e1000000000")))))).code());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "refused before any arithmetic");
        // the result of an inc is bounded too: 100 nines plus one has 101 digits
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), inc(ref, 1, "a:5", "m", 1))).code());
        assertEquals(OpResult.Rejected.TOO_LARGE, rejected(docs().apply(alice(), set(ref, 1, "a:6", "n",
                JsonNodeFactory.instance.numberNode(Double.POSITIVE_INFINITY)))).code());
        Document doc = docs().get(alice(), ref).orElseThrow();
        assertEquals(1, doc.version());
        assertEquals(1, doc.data().get("n").intValue());
        assertEquals("applied", docs().apply(alice(), inc(ref, 1, "a:7", "n", 1)).result());
    }
}
