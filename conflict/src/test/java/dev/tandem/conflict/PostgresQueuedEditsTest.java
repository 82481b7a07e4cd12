package dev.tandem.conflict;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

import dev.tandem.document.Documents;
import dev.tandem.document.QueuedEditsConformanceTest;
import dev.tandem.testing.TestServices;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The queued-edits part of the document port's contract on the cluster adapter (a real PostgreSQL). */
class PostgresQueuedEditsTest extends QueuedEditsConformanceTest {
    private static TestServices.Postgres pg;
    private static String schema;

    @BeforeAll
    static void database() {
        pg = TestServices.postgres();
        schema = "tandem_chains_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    @AfterAll
    static void dropSchema() throws SQLException {
        try (Connection c = pg.connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Override
    protected Documents open(Map<String, String> settings) {
        return DocumentStore.create(PostgresDocumentStoreTest.config(settings, pg, schema));
    }
}
