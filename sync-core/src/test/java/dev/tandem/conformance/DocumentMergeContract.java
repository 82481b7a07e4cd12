package dev.tandem.conformance;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.DocRef;
import dev.tandem.document.OpResult;
import dev.tandem.document.Strategy;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.applied;
import static dev.tandem.conformance.DocumentsFixture.merged;
import static dev.tandem.conformance.DocumentsFixture.num;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.patch;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The per-type merge policies: concurrent changes of different fields merge, the same field
 * goes by the type's strategy (last write, server or client wins), merge off makes every field
 * overlap, and changes that cannot clash (same value, one client's own queue, creators) merge.
 */
interface DocumentMergeContract extends DocumentsFixture {
    @Test
    default void concurrentChangesOfDifferentFieldsMergeWithoutConflict() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs().apply(bob(), set(ref, 1, "b:1", "b", 3)));
        assertEquals(List.of(), m.fields());
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(3, m.version());
        assertEquals(obj("a", 2, "b", 3), docs().get(alice(), ref).orElseThrow().data());
        AuditEntry merge = docs().audit(alice(), ref, 10).getLast();
        assertEquals("merge", merge.action());
        assertEquals("merge", merge.strategy());
        assertEquals(2, merge.versionBefore());
        assertEquals(3, merge.versionAfter());
        assertEquals("bob", merge.actor());
        assertEquals(obj("a", 2, "b", 1), merge.before());
        assertEquals(obj("a", 2, "b", 3), merge.after());
    }

    @Test
    default void wholeDataUpdatesMergeFieldByFieldAgainstTheirBase() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1, "b", 1, "c", 1)));
        docs().apply(alice(), replace(ref, 1, "a:2", obj("a", 2, "b", 1, "c", 1)));
        // bob changed b and removed c on top of version 1
        OpResult.Merged m = merged(docs().apply(bob(), replace(ref, 1, "b:1", obj("a", 1, "b", 5))));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 2, "b", 5), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void theSameFieldGoesToTheLatestReceivedWriteByDefault() {
        DocRef ref = new DocRef("note", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs().apply(bob(), patch(ref, 1, "b:1", Map.of("a", num(3), "b", num(4)))));
        assertEquals(List.of("a"), m.fields());
        assertEquals(Strategy.LAST_WRITE_WINS, m.strategy());
        assertEquals(obj("a", 3, "b", 4), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void serverWinsKeepsTheStoredValueOfOverlappingFieldsOnly() {
        DocRef ref = new DocRef("note_sw", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs().apply(bob(), patch(ref, 1, "b:1", Map.of("a", num(3), "b", num(4)))));
        assertEquals(List.of("a"), m.fields());
        assertEquals(Strategy.SERVER_WINS, m.strategy());
        assertEquals(obj("a", 2, "b", 4), docs().get(alice(), ref).orElseThrow().data());

        // when the server wins every change, no version is made, and the merge is still audited
        OpResult.Merged kept = merged(docs().apply(bob(), set(ref, 1, "b:2", "a", 9)));
        assertEquals(3, kept.version());
        assertEquals(3, docs().get(alice(), ref).orElseThrow().version());
        assertEquals(2, docs().audit(alice(), ref, 10).size());
    }

    @Test
    default void clientWinsTakesTheIncomingValue() {
        DocRef ref = new DocRef("note_cw", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs().apply(bob(), set(ref, 1, "b:1", "a", 3)));
        assertEquals(Strategy.CLIENT_WINS, m.strategy());
        assertEquals(obj("a", 3), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void withMergeOffEveryFieldOfAConcurrentChangeOverlaps() {
        DocRef ref = new DocRef("note_strict", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1, "b", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        OpResult.Merged m = merged(docs().apply(bob(), set(ref, 1, "b:1", "b", 3)));
        assertEquals(List.of("b"), m.fields());
        assertEquals(Strategy.SERVER_WINS, m.strategy());
        assertEquals(obj("a", 2, "b", 1), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void bothSidesSettingTheSameValueIsNoConflict() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1)));
        docs().apply(alice(), set(ref, 1, "a:2", "a", 2));
        assertEquals(Strategy.MERGE, merged(docs().apply(bob(), set(ref, 1, "b:1", "a", 2))).strategy());
    }

    @Test
    default void aClientsOwnQueuedChangesNeverConflictWithEachOther() {
        DocRef ref = new DocRef("note_manual", "n1");
        docs().apply(alice(), replace(ref, 0, "alice-phone:1", obj("a", 1)));
        // offline, the phone edits a twice on top of version 1, the last version it saw
        applied(docs().apply(alice(), set(ref, 1, "alice-phone:2", "a", 2)));
        OpResult.Merged m = merged(docs().apply(alice(), set(ref, 1, "alice-phone:3", "a", 3)));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 3), docs().get(alice(), ref).orElseThrow().data());
    }

    @Test
    default void concurrentCreatorsMergeLikeAnyConcurrentChange() {
        DocRef ref = new DocRef("note_manual", "n1");
        applied(docs().apply(alice(), replace(ref, 0, "a:1", obj("a", 1))));
        OpResult.Merged m = merged(docs().apply(bob(), replace(ref, 0, "b:1", obj("b", 2))));
        assertEquals(Strategy.MERGE, m.strategy());
        assertEquals(obj("a", 1, "b", 2), docs().get(alice(), ref).orElseThrow().data());
    }
}
