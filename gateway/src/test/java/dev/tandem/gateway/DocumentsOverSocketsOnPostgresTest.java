package dev.tandem.gateway;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;

import dev.tandem.testing.TestServices;

/** The same end-to-end document and conflict cases, with the documents in a real PostgreSQL. */
class DocumentsOverSocketsOnPostgresTest extends DocumentsOverSocketsTest {
    private final String schema = "gw_docs_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);

    @Override
    Map<String, String> database() {
        TestServices.Postgres pg = TestServices.postgres();
        return Map.of("tandem.db.url", pg.jdbcUrl(), "tandem.db.username", pg.user(),
                "tandem.db.password", pg.password(), "tandem.db.schema", schema);
    }

    @AfterAll
    void dropSchema() throws Exception {
        try (Connection c = TestServices.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }
}
