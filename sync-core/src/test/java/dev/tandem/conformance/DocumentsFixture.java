package dev.tandem.conformance;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Documents;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * What the document contracts share: the accessors {@link DocumentsConformanceTest} implements for
 * each test (a store of the adapter, two users of a tenant of the test's own, what the store
 * told its listener), and the operations and checks the cases are written with.
 */
interface DocumentsFixture {
    /** The store under test. */
    Documents docs();

    /** A user of this test's own tenant. */
    Principal alice();

    /** Another user of the same tenant. */
    Principal bob();

    /** What the listener heard. */
    List<DocumentChange> changes();

    /** The conflicts the listener heard about. */
    List<ConflictRecord> conflicts();

    /** A principal of a tenant. */
    static Principal principal(String tenant, String user) {
        return new Principal(tenant, user, Set.of(), Map.of(), Optional.empty());
    }

    /** A stock level document. */
    static DocRef stock(String id) {
        return new DocRef("stock_level", id);
    }

    /** An object from alternating names and values. */
    static ObjectNode obj(Object... kv) {
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
    static JsonNode num(int v) {
        return JsonNodeFactory.instance.numberNode(v);
    }

    /** A text node. */
    static JsonNode text(String v) {
        return JsonNodeFactory.instance.textNode(v);
    }

    /** A whole-data operation. */
    static DocOp replace(DocRef ref, long base, String opId, ObjectNode data) {
        return new DocOp(ref, base, opId, new Edit.Replace(data));
    }

    /** A patch setting one field. */
    static DocOp set(DocRef ref, long base, String opId, String field, Object value) {
        return new DocOp(ref, base, opId, Edit.Patch.set(Map.of(field, node(value))));
    }

    /** A patch setting fields. */
    static DocOp patch(DocRef ref, long base, String opId, Map<String, JsonNode> values) {
        return new DocOp(ref, base, opId, Edit.Patch.set(values));
    }

    /** A patch incrementing one field. */
    static DocOp inc(DocRef ref, long base, String opId, String field, int delta) {
        return new DocOp(ref, base, opId, Edit.Patch.inc(Map.of(field, BigDecimal.valueOf(delta))));
    }

    /** The result as applied; fails the test when it is another. */
    static OpResult.Applied applied(OpResult r) {
        return assertInstanceOf(OpResult.Applied.class, r);
    }

    /** The result as merged; fails the test when it is another. */
    static OpResult.Merged merged(OpResult r) {
        return assertInstanceOf(OpResult.Merged.class, r);
    }

    /** The result as rejected; fails the test when it is another. */
    static OpResult.Rejected rejected(OpResult r) {
        return assertInstanceOf(OpResult.Rejected.class, r);
    }

    /** The record of a conflict result; fails the test when it is another. */
    static ConflictRecord conflict(OpResult r) {
        return assertInstanceOf(OpResult.Conflict.class, r).record();
    }
}
