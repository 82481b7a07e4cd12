package dev.tandem.conflict;

import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.testing.MutableClock;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the H2 store keeps across restarts, what pruning forgets, and atomicity when a write fails half way. */
class H2StoreLifecycleTest {
    private static final Principal ALICE = new Principal("acme", "alice", Set.of(), Map.of(), Optional.empty());
    private static final DocRef STOCK = new DocRef("stock_level", "A-1");

    @TempDir
    Path dir;

    @Test
    void standaloneDocumentsSurviveARestart() {
        Path file = dir.resolve("tandem");
        try (DocumentStore store = open(file, Map.of("types.note.strategy", "manual"), Clock.systemUTC())) {
            store.apply(ALICE, inc(STOCK, 0, "phone:1", 5));
            store.apply(ALICE, inc(STOCK, 1, "phone:2", 2));
            DocRef note = new DocRef("note", "n1");
            store.apply(ALICE, new DocOp(note, 0, "a:1", Edit.Patch.set(Map.of("t", Json.NODES.textNode("x")))));
            store.apply(ALICE, new DocOp(note, 1, "a:2", Edit.Patch.set(Map.of("t", Json.NODES.textNode("y")))));
            store.apply(ALICE, new DocOp(note, 1, "b:1", Edit.Patch.set(Map.of("t", Json.NODES.textNode("z")))));
        }
        assertTrue(Files.exists(dir.resolve("tandem.mv.db")));
        try (DocumentStore store = open(file, Map.of("types.note.strategy", "manual"), Clock.systemUTC())) {
            Document doc = store.get(ALICE, STOCK).orElseThrow();
            assertEquals(2, doc.version());
            assertEquals(7, doc.data().get("quantity").intValue());
            assertInstanceOf(OpResult.Duplicate.class, store.apply(ALICE, inc(STOCK, 1, "phone:2", 2)));
            assertEquals(1, store.listConflicts(ALICE, ConflictFilter.open()).size());
        }
    }

    @Test
    void prunedHistoryMakesLateChangesOverlapInsteadOfMergingBlindly() {
        try (DocumentStore store = open(dir.resolve("p"), Map.of("keep-versions", "2",
                "types.note.strategy", "manual"), Clock.systemUTC())) {
            DocRef note = new DocRef("note", "n1");
            store.apply(ALICE, new DocOp(note, 0, "a:1", new Edit.Replace(obj("a", 1, "b", 1))));
            for (int v = 2; v <= 5; v++) {
                store.apply(ALICE, new DocOp(note, v - 1, "a:" + v, Edit.Patch.set(Map.of("a", Json.NODES.numberNode(v)))));
            }
            assertTrue(store.prune() >= 3);
            // based on version 2, which is gone: b cannot be proven untouched by others
            OpResult r = store.apply(ALICE, new DocOp(note, 2, "b:1", Edit.Patch.set(Map.of("b", Json.NODES.numberNode(9)))));
            assertEquals(List.of("b"), assertInstanceOf(OpResult.Conflict.class, r).record().fields());
        }
    }

    @Test
    void replaysOlderThanTheOpRetentionAreStillDuplicatesThroughTheClientSequence() {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        try (DocumentStore store = open(dir.resolve("r"), Map.of("op-retention", "P1D"), clock)) {
            store.apply(ALICE, inc(STOCK, 0, "phone:1", 5));
            store.apply(ALICE, inc(STOCK, 1, "phone:2", 5));
            clock.advance(Duration.ofDays(2));
            store.apply(ALICE, inc(STOCK, 2, "phone:3", 5));
            store.prune();
            OpResult.Duplicate old = assertInstanceOf(OpResult.Duplicate.class, store.apply(ALICE, inc(STOCK, 1, "phone:2", 5)));
            assertEquals(Optional.empty(), old.original(), "its applied opId was pruned");
            assertEquals(Optional.of("applied"), assertInstanceOf(OpResult.Duplicate.class,
                    store.apply(ALICE, inc(STOCK, 2, "phone:3", 5))).original());
            assertEquals(15, store.get(ALICE, STOCK).orElseThrow().data().get("quantity").intValue());
        }
    }

    @Test
    void theAuditTrailIsPrunedAfterItsRetention() {
        MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
        DocRef note = new DocRef("note", "audited");
        try (DocumentStore store = open(dir.resolve("a"), Map.of("audit-retention", "P7D"), clock)) {
            store.apply(ALICE, new DocOp(note, 0, "a:1", Edit.Patch.set(Map.of("t", Json.NODES.textNode("x")))));
            store.apply(ALICE, new DocOp(note, 1, "a:2", Edit.Patch.set(Map.of("t", Json.NODES.textNode("y")))));
            store.apply(ALICE, new DocOp(note, 1, "b:1", Edit.Patch.set(Map.of("t", Json.NODES.textNode("z")))));
            assertEquals(1, store.audit(ALICE, note, 10).size(), "the merge is audited");
            clock.advance(Duration.ofDays(6));
            store.prune();
            assertEquals(1, store.audit(ALICE, note, 10).size(), "kept within the retention");
            clock.advance(Duration.ofDays(2));
            store.prune();
            assertEquals(List.of(), store.audit(ALICE, note, 10), "gone after it");
        }
    }

    /**
     * A write that fails half way (here: the outbox insert, after the document row was updated)
     * leaves nothing of the operation behind, stops the batch like a crash would, and a replay
     * of the whole batch applies exactly what was missing.
     */
    @Test
    void anOperationThatFailsHalfWayLeavesNothingBehind() throws SQLException {
        Path file = dir.resolve("c");
        try (DocumentStore store = open(file, Map.of(), Clock.systemUTC())) {
            store.apply(ALICE, inc(STOCK, 0, "setup:1", 10));
            DocRef boom = new DocRef("stock_level", "boom");
            store.apply(ALICE, inc(boom, 0, "setup:2", 10));
            sql(file, "ALTER TABLE outbox ADD CONSTRAINT no_boom CHECK (payload NOT LIKE '%\"opId\":\"phone:2\"%')");
            List<DocOp> batch = List.of(inc(STOCK, 1, "phone:1", 1), inc(boom, 1, "phone:2", 1), inc(STOCK, 1, "phone:3", 1));
            ProtocolException e = assertThrows(ProtocolException.class, () -> store.sync(ALICE, batch));
            assertEquals(ErrorCode.UNAVAILABLE, e.code());
            assertEquals(1, store.get(ALICE, boom).orElseThrow().version(), "the document row update was rolled back");
            assertEquals(0, count(file, "SELECT COUNT(*) FROM applied_ops WHERE op_id = 'phone:2'"));
            assertEquals(0, count(file, "SELECT COUNT(*) FROM document_versions WHERE doc_id = 'boom' AND version = 2"));
            assertEquals(11, store.get(ALICE, STOCK).orElseThrow().data().get("quantity").intValue());

            sql(file, "ALTER TABLE outbox DROP CONSTRAINT no_boom");
            List<OpResult> replay = store.sync(ALICE, batch);
            assertEquals(List.of("duplicate", "applied", "merged"), replay.stream().map(OpResult::result).toList());
            assertEquals(12, store.get(ALICE, STOCK).orElseThrow().data().get("quantity").intValue());
            assertEquals(11, store.get(ALICE, boom).orElseThrow().data().get("quantity").intValue());
            assertEquals(5, count(file, "SELECT COUNT(*) FROM outbox"), "one outbox row per accepted change, none for the failed try");
        }
    }

    private static DocumentStore open(Path file, Map<String, String> extra, Clock clock) {
        Map<String, String> m = new HashMap<>(extra);
        m.put("types.stock_level.counters.0", "quantity");
        m.put("types.stock_level.invariants.0", "quantity >= 0");
        m.put("db.url", url(file));
        m.put("prune-interval", "PT0S");
        return DocumentStore.create(Config.just(ConfigSources.create(m)), clock);
    }

    private static String url(Path file) {
        return "jdbc:h2:file:" + file.toAbsolutePath() + ";LOCK_TIMEOUT=10000";
    }

    private static void sql(Path file, String statement) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(file), "sa", ""); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    private static long count(Path file, String query) throws SQLException {
        try (Connection c = DriverManager.getConnection(url(file), "sa", ""); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static DocOp inc(DocRef ref, long base, String opId, int delta) {
        return new DocOp(ref, base, opId, Edit.Patch.inc(Map.of("quantity", BigDecimal.valueOf(delta))));
    }

    private static ObjectNode obj(String k1, int v1, String k2, int v2) {
        return Json.object().put(k1, v1).put(k2, v2);
    }

}
