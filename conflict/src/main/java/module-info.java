/**
 * Versioned documents on a relational database: the {@code Documents} port of the engine on H2
 * (standalone) or PostgreSQL (cluster) through Helidon's DbClient, with merge policies, manual
 * conflicts, the audit trail and the transactional outbox; and the push registry and send queue
 * ({@code dev.tandem.conflict.push}). Only those two packages are API; the schema migrations ship
 * as resources.
 */
module dev.tandem.conflict {
    requires transitive dev.tandem.core;
    requires io.helidon.dbclient;
    requires io.helidon.dbclient.jdbc;
    requires flyway.core;
    requires java.sql;

    exports dev.tandem.conflict;
    exports dev.tandem.conflict.push;
}
