package dev.tandem.conflict.push;

import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;

import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

/** The same cases on a real PostgreSQL, in a schema of their own. */
class SqlPushStoreOnPostgresTest extends SqlPushStoreTest {
    private final String schema = "push_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

    @Override
    Config database() {
        TestServices.Postgres pg = TestServices.postgres();
        return Config.just(ConfigSources.create(Map.of("url", pg.jdbcUrl(), "username", pg.user(),
                "password", pg.password(), "schema", schema)));
    }

    @AfterEach
    void dropSchema() throws Exception {
        try (Connection c = TestServices.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }
}
