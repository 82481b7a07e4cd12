package dev.tandem.it.client;

import java.util.Map;
import java.util.UUID;

import dev.tandem.testing.TestServices;

/** The offline queue against a cluster-mode gateway: documents in PostgreSQL, history and inboxes in Redis. */
class OfflineQueueClusterTest extends OfflineQueueContract {
    @Override
    Map<String, String> backends() {
        TestServices.Postgres pg = TestServices.postgres();
        return Map.of("tandem.redis.address", TestServices.redis(),
                "tandem.db.url", pg.jdbcUrl(),
                "tandem.db.username", pg.user(),
                "tandem.db.password", pg.password(),
                "tandem.db.schema", "client_" + UUID.randomUUID().toString().substring(0, 8));
    }
}
