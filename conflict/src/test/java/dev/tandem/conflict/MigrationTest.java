package dev.tandem.conflict;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import dev.tandem.auth.Principal;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * A database written before opIds were scoped to their author (schema V2) stays valid after
 * the V3 migration, on H2 and on PostgreSQL: old ops are still duplicates for their author, an
 * op whose author is no longer known is a duplicate for anyone (as before), new ops are scoped,
 * and documents know their creator.
 */
class MigrationTest {
    private static final Principal ALICE = new Principal("acme", "alice", Set.of(), Map.of(), Optional.empty());
    private static final Principal BOB = new Principal("acme", "bob", Set.of(), Map.of(), Optional.empty());

    @Test
    void aVersionTwoH2DatabaseKeepsItsMeaning(@TempDir Path dir) throws SQLException {
        String url = "jdbc:h2:file:" + dir.resolve("v2").toAbsolutePath();
        Flyway.configure().dataSource(url, "sa", "").locations("classpath:db/migration/h2").target("2").load().migrate();
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            seed(c, "'{\"t\":1}'");
        }
        Map<String, String> m = new HashMap<>();
        m.put("db.url", url);
        m.put("prune-interval", "PT0S");
        try (DocumentStore store = DocumentStore.create(Config.just(ConfigSources.create(m)))) {
            check(store);
        }
    }

    @Test
    void aVersionTwoPostgresDatabaseKeepsItsMeaning() throws SQLException {
        TestServices.Postgres pg = TestServices.postgres();
        String schema = "tandem_mig_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try {
            Flyway.configure().dataSource(pg.jdbcUrl(), pg.user(), pg.password()).schemas(schema)
                    .locations("classpath:db/migration/postgresql").target("2").load().migrate();
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("SET search_path TO " + schema);
                seed(c, "CAST('{\"t\":1}' AS jsonb)");
            }
            Map<String, String> m = new HashMap<>();
            m.put("db.url", pg.jdbcUrl());
            m.put("db.username", pg.user());
            m.put("db.password", pg.password());
            m.put("db.schema", schema);
            m.put("prune-interval", "PT0S");
            try (DocumentStore store = DocumentStore.create(Config.just(ConfigSources.create(m)))) {
                check(store);
            }
        } finally {
            try (Connection c = pg.connect(); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    /**
     * What a V2 store had written: note n-1 created by alice (op a:1) and changed by bob (b:1),
     * and an applied op whose version was pruned long ago (old:9, no trace of its author).
     */
    private static void seed(Connection c, String json) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("INSERT INTO documents (tenant, doc_type, doc_id, version, data, deleted, updated_at, updated_by, op_id) "
                    + "VALUES ('acme', 'note', 'n-1', 2, " + json + ", FALSE, CURRENT_TIMESTAMP, 'bob', 'b:1')");
            for (String v : new String[] {"1, 'alice', 'a:1', 'c:a'", "2, 'bob', 'b:1', 'c:b'"}) {
                String[] f = v.split(", ");
                s.execute("INSERT INTO document_versions (tenant, doc_type, doc_id, version, data, deleted, origin, op_id, "
                        + "updated_at, updated_by) VALUES ('acme', 'note', 'n-1', " + f[0] + ", " + json + ", FALSE, "
                        + f[3] + ", " + f[2] + ", CURRENT_TIMESTAMP, " + f[1] + ")");
            }
            s.execute("INSERT INTO applied_ops (tenant, op_id, client_id, seq, doc_type, doc_id, result, version, applied_at) "
                    + "VALUES ('acme', 'a:1', 'a', 1, 'note', 'n-1', 'applied', 1, CURRENT_TIMESTAMP)");
            s.execute("INSERT INTO applied_ops (tenant, op_id, client_id, seq, doc_type, doc_id, result, version, applied_at) "
                    + "VALUES ('acme', 'b:1', 'b', 1, 'note', 'n-1', 'applied', 2, CURRENT_TIMESTAMP)");
            s.execute("INSERT INTO applied_ops (tenant, op_id, client_id, seq, doc_type, doc_id, result, version, applied_at) "
                    + "VALUES ('acme', 'old:9', 'old', 9, 'note', 'n-1', 'applied', 1, CURRENT_TIMESTAMP)");
            s.execute("INSERT INTO client_sequences (tenant, client_id, last_seq, pruned_through, gaps, updated_at) "
                    + "VALUES ('acme', 'a', 1, 0, 0, CURRENT_TIMESTAMP)");
        }
    }

    private static void check(DocumentStore store) {
        DocRef ref = new DocRef("note", "n-1");
        assertEquals("alice", store.get(ALICE, ref).orElseThrow().createdBy());
        assertInstanceOf(OpResult.Duplicate.class, store.apply(ALICE, set(ref, 0, "a:1")), "alice's own op");
        assertInstanceOf(OpResult.Duplicate.class, store.apply(BOB, set(ref, 1, "b:1")), "bob's own op");
        assertEquals("applied", store.apply(BOB, set(ref, 2, "a:2")).result(), "bob's opIds are his own now");
        assertEquals("applied", store.apply(ALICE, set(ref, 3, "a:2")).result(), "so alice's next one still applies");
        assertInstanceOf(OpResult.Duplicate.class, store.apply(BOB, set(ref, 4, "old:9")),
                "an op of unknown author stays a duplicate for anyone");
        assertEquals(4, store.get(ALICE, ref).orElseThrow().version());
    }

    private static DocOp set(DocRef ref, long base, String opId) {
        return new DocOp(ref, base, opId, Edit.Patch.set(Map.of("by", Json.NODES.textNode(opId))));
    }
}
