package dev.tandem.conflict;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import dev.tandem.document.Documents;
import dev.tandem.conformance.DocumentsConformanceTest;
import dev.tandem.conformance.QueuedEditsConformanceTest;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/**
 * The document port's conformance suites on the cluster adapter: a real PostgreSQL (from the
 * environment, Testcontainers or the local server; see {@link TestServices}). Each run works in
 * a schema of its own, dropped at the end, so reruns start clean. The suite's concurrent-writer
 * case runs here with more operations: PostgreSQL is where several nodes write one document.
 */
class PostgresDocumentStoreTest extends DocumentsConformanceTest {
    private static TestServices.Postgres pg;
    private static String schema;

    @BeforeAll
    static void database() {
        pg = TestServices.postgres();
        schema = "tandem_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    @AfterAll
    static void dropSchema() throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Override
    protected Documents open(Map<String, String> settings) {
        return DocumentStore.create(config(settings, pg, schema));
    }

    /** The queued-edits part of the contract, on the same schema. */
    @Nested
    class QueuedEdits extends QueuedEditsConformanceTest {
        @Override
        protected Documents open(Map<String, String> settings) {
            return PostgresDocumentStoreTest.this.open(settings);
        }
    }

    @Override
    protected int concurrentOpsPerThread() {
        return 40;
    }

    /** Settings for a PostgreSQL schema. */
    static Config config(Map<String, String> settings, TestServices.Postgres pg, String schema) {
        Map<String, String> m = new HashMap<>(settings);
        m.put("db.url", pg.jdbcUrl());
        m.put("db.username", pg.user());
        m.put("db.password", pg.password());
        m.put("db.schema", schema);
        m.put("db.pool.maximumPoolSize", "8");
        m.put("prune-interval", "PT0S");
        return Config.just(ConfigSources.create(m));
    }
}
