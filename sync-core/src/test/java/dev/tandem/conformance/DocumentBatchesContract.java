package dev.tandem.conformance;

import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.OpResult;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.inc;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Offline batches: applied in order with one result per operation, a rejection blocking
 * nothing, and replays in either order counting every delta exactly once.
 */
interface DocumentBatchesContract extends DocumentsFixture {
    @Test
    default void aBatchAppliesInOrderOneResultPerOpAndARejectionBlocksNothing() {
        DocRef stock = stock("A-1");
        DocRef note = new DocRef("note", "n1");
        docs().apply(alice(), replace(stock, 0, "a:1", obj("quantity", 1, "locationId", "wh-7")));
        List<DocOp> batch = List.of(
                inc(stock, 1, "phone:1", "quantity", -5),          // oversell: rejected
                replace(note, 0, "phone:2", obj("t", 1)),
                set(new DocRef("note", "missing"), 4, "phone:3", "t", 2), // not found
                inc(stock, 1, "phone:4", "quantity", 4),
                set(note, 1, "phone:5", "t", 3));
        List<OpResult> first = docs().sync(bob(), batch);
        assertEquals(List.of("rejected", "applied", "rejected", "applied", "applied"),
                first.stream().map(OpResult::result).toList());
        assertEquals(List.of("phone:1", "phone:2", "phone:3", "phone:4", "phone:5"),
                first.stream().map(OpResult::opId).toList());
        Document before = docs().get(alice(), stock).orElseThrow();
        assertEquals(5, before.data().get("quantity").intValue());

        List<OpResult> second = docs().sync(bob(), batch);
        assertEquals(List.of("rejected", "duplicate", "rejected", "duplicate", "duplicate"),
                second.stream().map(OpResult::result).toList(), "a replay is told what became of each op");
        assertEquals(before, docs().get(alice(), stock).orElseThrow());
        assertEquals(2, docs().get(alice(), note).orElseThrow().version());
    }

    /** The acceptance case: an offline edit replayed after a concurrent change. */
    @Test
    default void twoOfflineClientsReplayingInEitherOrderTwiceCountEveryDeltaExactlyOnce() {
        for (boolean phoneFirst : new boolean[] {true, false}) {
            DocRef ref = stock(phoneFirst ? "P-1" : "P-2");
            docs().apply(alice(), replace(ref, 0, "setup-" + ref.id() + ":1", obj("quantity", 100, "locationId", "wh-7")));
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
                List<OpResult> results = docs().sync(round % 2 == 0 ? alice() : bob(), order.get(round));
                String expected = round < 2 ? "applied|merged" : "duplicate";
                results.forEach(r -> assertTrue(r.result().matches(expected), r.toString()));
            }
            Document doc = docs().get(alice(), ref).orElseThrow();
            assertEquals(100 + sum, doc.data().get("quantity").intValue(), "order " + (phoneFirst ? "phone first" : "tablet first"));
            assertEquals(13, doc.version());
        }
    }
}
