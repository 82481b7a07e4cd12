/**
 * Versioned documents on a relational database: the
 * {@link dev.tandem.document.Documents} adapter {@link dev.tandem.conflict.DocumentStore} on an
 * embedded H2 file database (standalone) or PostgreSQL (cluster) through helidon-dbclient-jdbc,
 * with Flyway migrations per vendor, per-type merge policies, manual conflicts, the audit trail,
 * idempotent offline replay and the transactional outbox.
 */
package dev.tandem.conflict;
