package dev.tandem.conformance;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.Edit;
import dev.tandem.document.History;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.DocumentsFixture.num;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.principal;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.set;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static dev.tandem.conformance.DocumentsFixture.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reading beyond one document: history pages with their audit entries, and queries of a type by
 * one field, paged in id order, matching numbers by value, with cursors only the store makes.
 */
interface DocumentReadsContract extends DocumentsFixture {
    @Test
    default void historyPagesVersionsNewestFirstWithTheirAuditEntries() {
        DocRef ref = new DocRef("note", "h1");
        docs().apply(alice(), replace(ref, 0, "a:1", obj("t", "a", "n", 1)));
        docs().apply(bob(), set(ref, 1, "b:1", "n", 2));
        docs().apply(alice(), set(ref, 1, "a:2", "t", "b"));
        History.Page first = docs().history(alice(), ref, new History.Query(2, Optional.empty()));
        assertEquals(List.of(3L, 2L), first.steps().stream().map(History.Step::version).toList());
        AuditEntry merge = first.steps().getFirst().audit().getFirst();
        assertEquals("merge", merge.action());
        assertEquals("alice", merge.actor());
        assertEquals(Optional.of("a:2"), merge.opId());
        assertEquals(obj("t", "a", "n", 2), merge.before());
        assertEquals(obj("t", "b", "n", 2), merge.after());
        assertEquals("bob", first.steps().get(1).document().orElseThrow().updatedBy());
        assertEquals(List.of(), first.steps().get(1).audit());
        assertEquals(Optional.of(1L), first.next());
        History.Page second = docs().history(alice(), ref, new History.Query(2, first.next()));
        assertEquals(List.of(1L), second.steps().stream().map(History.Step::version).toList());
        assertEquals(obj("t", "a", "n", 1), second.steps().getFirst().document().orElseThrow().data());
        assertEquals(Optional.empty(), second.next());
        assertEquals(List.of(), docs().history(bob(), new DocRef("note", "none"), new History.Query(10, Optional.empty())).steps());
        assertEquals(List.of(), docs().history(principal("other-" + alice().tenant(), "alice"), ref,
                new History.Query(10, Optional.empty())).steps(), "another tenant's document is not there");
    }

    @Test
    default void queriesPageThroughTheLiveDocumentsOfATypeByOneFieldInIdOrder() {
        for (String id : List.of("E", "A", "C", "B", "D")) {
            docs().apply(alice(), replace(stock(id), 0, "q-" + id + ":1", obj("locationId", "wh-7", "quantity", 1)));
        }
        docs().apply(alice(), replace(stock("F"), 0, "q-F:1", obj("locationId", "wh-8", "quantity", 1)));
        docs().apply(alice(), replace(stock("G"), 0, "q-G:1", obj("locationId", "wh-7", "quantity", 1)));
        docs().apply(alice(), new DocOp(stock("G"), 1, "q-G:2", new Edit.Delete()));
        docs().apply(alice(), replace(new DocRef("note", "A"), 0, "q-n:1", obj("locationId", "wh-7")));
        Principal stranger = principal("other-" + alice().tenant(), "alice");
        docs().apply(stranger, replace(stock("A"), 0, "q-x:1", obj("locationId", "wh-7")));

        List<String> ids = new ArrayList<>();
        Optional<String> after = Optional.empty();
        int pages = 0;
        do {
            DocumentQuery.Page page = docs().query(alice(), new DocumentQuery("stock_level", "locationId", text("wh-7"), 2, after));
            assertTrue(page.documents().size() <= 2);
            page.documents().forEach(d -> ids.add(d.ref().id()));
            after = page.next();
            assertTrue(++pages < 10, "pages never end");
        } while (after.isPresent());
        assertEquals(List.of("A", "B", "C", "D", "E"), ids);

        DocumentQuery.Page all = docs().query(alice(), new DocumentQuery("stock_level", "locationId", text("wh-7"), 500,
                Optional.empty()));
        assertEquals(5, all.documents().size());
        assertEquals(Optional.empty(), all.next());
        Document a = all.documents().getFirst();
        assertEquals(docs().get(alice(), stock("A")).orElseThrow(), a);
        assertEquals(List.of("A"), docs().query(stranger, new DocumentQuery("stock_level", "locationId", text("wh-7"), 10,
                Optional.empty())).documents().stream().map(d -> d.ref().id()).toList());
    }

    @Test
    default void queriesMatchNumbersByValueAndBooleans() {
        docs().apply(alice(), replace(new DocRef("task", "t1"), 0, "t:1", obj("qty", 7, "done", JsonNodeFactory.instance.booleanNode(true))));
        docs().apply(alice(), replace(new DocRef("task", "t2"), 0, "t:2", obj("qty", com.fasterxml.jackson.databind.node.DecimalNode.valueOf(new BigDecimal("7.0")),
                "done", JsonNodeFactory.instance.booleanNode(false))));
        docs().apply(alice(), replace(new DocRef("task", "t3"), 0, "t:3", obj("qty", "7", "done", "true")));
        assertEquals(List.of("t1", "t2"), ids(docs().query(alice(), new DocumentQuery("task", "qty", num(7), 10, Optional.empty()))));
        assertEquals(List.of("t3"), ids(docs().query(alice(), new DocumentQuery("task", "qty", text("7"), 10, Optional.empty()))));
        assertEquals(List.of("t1"), ids(docs().query(alice(), new DocumentQuery("task", "done",
                JsonNodeFactory.instance.booleanNode(true), 10, Optional.empty()))));
    }

    @Test
    default void aCursorTheStoreDidNotMakeIsABadRequest() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> docs().query(alice(),
                new DocumentQuery("task", "qty", num(7), 10, Optional.of("%%not-a-cursor"))));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
    }

    private static List<String> ids(DocumentQuery.Page page) {
        return page.documents().stream().map(d -> d.ref().id()).toList();
    }
}
