package dev.tandem.conflict;

/**
 * The statements, with the one difference between the vendors spelled out: PostgreSQL keeps
 * JSON as {@code jsonb} (cast on the way in and out), H2 as text. Named parameters only, and
 * {@code CAST(:x AS type)}, never {@code ::} (the named-parameter parser misreads it). Every
 * statement names the tenant.
 */
final class Sql {
    /** An applied opId or client sequence written before opIds were scoped to their author (V3). */
    static final String LEGACY_AUTHOR = "";

    final boolean postgres;
    final String opSeen;
    final String sequenceGet;
    final String sequenceInsert;
    final String sequenceUpdate;
    final String headGet;
    final String headLock;
    final String headInsert;
    final String headUpdate;
    final String history;
    final String versionGet;
    final String versionRow;
    final String versionInsert;
    final String opInsert;
    final String auditInsert;
    final String auditList;
    final String historyVersions;
    final String historyAudit;
    final String outboxInsert;
    final String conflictInsert;
    final String conflictGet;
    final String conflictOfOp;
    final String conflictLock;
    final String conflictResolve;
    final String conflictStale;
    final String conflictCount;
    final String queryContains;
    final String queryScan;
    final String pruneVersions;
    final String pruneSequences;
    final String pruneOps;
    final String pruneOutbox;
    final String pruneAudit;

    Sql(boolean postgres) {
        this.postgres = postgres;
        String json = postgres ? "CAST(:%s AS jsonb)" : ":%s";
        String headColumns = "SELECT doc_id, version, CAST(data AS VARCHAR) AS data, deleted, updated_at, updated_by, "
                + "created_by, op_id FROM documents";
        String head = headColumns + " WHERE tenant = :tenant AND doc_type = :type AND doc_id = :id";
        // an opId is its author's: a legacy row (no author recorded) still answers for anyone
        opSeen = "SELECT result, version, base_version, doc_type, doc_id FROM applied_ops WHERE tenant = :tenant AND op_id = :op "
                + "AND author IN (:author, '" + LEGACY_AUTHOR + "') ORDER BY author DESC";
        sequenceGet = "SELECT author, last_seq, pruned_through FROM client_sequences WHERE tenant = :tenant "
                + "AND client_id = :client AND author IN (:author, '" + LEGACY_AUTHOR + "') ORDER BY author DESC";
        sequenceInsert = "INSERT INTO client_sequences (tenant, author, client_id, last_seq, pruned_through, gaps, "
                + "updated_at) VALUES (:tenant, :author, :client, :seq, 0, :gap, :at)";
        sequenceUpdate = "UPDATE client_sequences SET last_seq = GREATEST(last_seq, :seq), gaps = gaps + :gap, "
                + "updated_at = :at WHERE tenant = :tenant AND author = :author AND client_id = :client";
        headGet = head;
        headLock = head + " FOR UPDATE";
        headInsert = "INSERT INTO documents (tenant, doc_type, doc_id, version, data, deleted, updated_at, updated_by, "
                + "created_by, op_id) VALUES (:tenant, :type, :id, :version, " + json.formatted("data")
                + ", :deleted, :at, :by, :created_by, :op)";
        headUpdate = "UPDATE documents SET version = :version, data = " + json.formatted("data")
                + ", deleted = :deleted, updated_at = :at, updated_by = :by, op_id = :op "
                + "WHERE tenant = :tenant AND doc_type = :type AND doc_id = :id AND version = :expected";
        history = "SELECT version, CAST(data AS VARCHAR) AS data, deleted, origin, op_id, updated_at, updated_by "
                + "FROM document_versions WHERE tenant = :tenant AND doc_type = :type AND doc_id = :id "
                + "AND version >= :from ORDER BY version";
        versionRow = history.replace("AND version >= :from ORDER BY version", "AND version = :version");
        versionGet = "SELECT CAST(data AS VARCHAR) AS data FROM document_versions WHERE tenant = :tenant "
                + "AND doc_type = :type AND doc_id = :id AND version = :version";
        versionInsert = "INSERT INTO document_versions (tenant, doc_type, doc_id, version, data, deleted, origin, op_id, "
                + "updated_at, updated_by) VALUES (:tenant, :type, :id, :version, " + json.formatted("data")
                + ", :deleted, :origin, :op, :at, :by)";
        opInsert = "INSERT INTO applied_ops (tenant, author, op_id, client_id, seq, doc_type, doc_id, result, version, "
                + "base_version, applied_at) VALUES (:tenant, :author, :op, :client, :seq, :type, :id, :result, :version, "
                + ":base, :at)";
        auditInsert = "INSERT INTO audit (tenant, doc_type, doc_id, action, strategy, fields, actor, op_id, conflict_id, "
                + "version_before, version_after, data_before, data_after, reason, created_at) VALUES (:tenant, :type, :id, "
                + ":action, :strategy, :fields, :actor, :op, :conflict, :before_version, :after_version, "
                + json.formatted("before_data") + ", " + json.formatted("after_data") + ", :reason, :at)";
        auditList = "SELECT id, action, strategy, fields, actor, op_id, conflict_id, version_before, version_after, "
                + "CAST(data_before AS VARCHAR) AS data_before, CAST(data_after AS VARCHAR) AS data_after, reason, created_at "
                + "FROM audit WHERE tenant = :tenant AND doc_type = :type AND doc_id = :id ORDER BY id DESC LIMIT :limit";
        historyVersions = history.replace("AND version >= :from ORDER BY version",
                "AND version BETWEEN :low AND :high ORDER BY version DESC");
        historyAudit = auditList.replace("ORDER BY id DESC LIMIT :limit",
                "AND version_after BETWEEN :low AND :high ORDER BY id");
        outboxInsert = "INSERT INTO outbox (tenant, event_key, event_type, payload, created_at, published_at, hooked_at) "
                + "VALUES (:tenant, :key, :type, " + json.formatted("payload") + ", :at, :published, :hooked)";
        conflictInsert = "INSERT INTO conflicts (id, tenant, doc_type, doc_id, op_id, author, client_id, base_version, "
                + "server_version, base_data, server_data, local_data, fields, status, created_at) VALUES (:cid, :tenant, "
                + ":type, :id, :op, :author, :client, :base_version, :server_version, " + json.formatted("base_data") + ", "
                + json.formatted("server_data") + ", " + json.formatted("local_data") + ", :fields, 'open', :at)";
        conflictGet = CONFLICT_COLUMNS + " WHERE tenant = :tenant AND id = :cid";
        conflictLock = conflictGet + " FOR UPDATE";
        conflictOfOp = CONFLICT_COLUMNS + " WHERE tenant = :tenant AND author = :author AND op_id = :op";
        conflictResolve = "UPDATE conflicts SET status = 'resolved', resolution = :resolution, resolved_by = :by, "
                + "resolved_at = :at, resolved_version = :version WHERE tenant = :tenant AND id = :cid AND status = 'open'";
        conflictStale = "UPDATE conflicts SET status = 'stale' WHERE tenant = :tenant AND id = :cid AND status = 'open'";
        conflictCount = "SELECT COUNT(*) AS n FROM conflicts WHERE tenant = :tenant AND author = :author "
                + "AND status = 'open'";
        // PostgreSQL: jsonb containment of {field: value}, served by the GIN index of V3
        queryContains = headColumns + " WHERE tenant = :tenant AND doc_type = :type AND deleted = FALSE "
                + "AND doc_id > :after AND data @> CAST(:where AS jsonb) ORDER BY doc_id LIMIT :limit";
        // H2: the type's live documents in id order, matched in Java, a bounded batch at a time
        queryScan = headColumns + " WHERE tenant = :tenant AND doc_type = :type AND deleted = FALSE "
                + "AND doc_id > :after ORDER BY doc_id LIMIT :limit";
        pruneVersions = "DELETE FROM document_versions WHERE version <= (SELECT d.version FROM documents d "
                + "WHERE d.tenant = document_versions.tenant AND d.doc_type = document_versions.doc_type "
                + "AND d.doc_id = document_versions.doc_id) - :keep";
        pruneSequences = "UPDATE client_sequences SET pruned_through = GREATEST(pruned_through, (SELECT MAX(a.seq) "
                + "FROM applied_ops a WHERE a.tenant = client_sequences.tenant AND a.author = client_sequences.author "
                + "AND a.client_id = client_sequences.client_id AND a.applied_at < :cutoff)) WHERE EXISTS (SELECT 1 "
                + "FROM applied_ops a WHERE a.tenant = client_sequences.tenant AND a.author = client_sequences.author "
                + "AND a.client_id = client_sequences.client_id AND a.applied_at < :cutoff)";
        pruneOps = "DELETE FROM applied_ops WHERE applied_at < :cutoff";
        pruneOutbox = "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < :cutoff "
                + "AND hooked_at IS NOT NULL AND hooked_at < :cutoff";
        pruneAudit = "DELETE FROM audit WHERE created_at < :cutoff";
    }

    private static final String CONFLICT_COLUMNS = "SELECT id, tenant, doc_type, doc_id, op_id, author, client_id, "
            + "base_version, server_version, CAST(base_data AS VARCHAR) AS base_data, CAST(server_data AS VARCHAR) "
            + "AS server_data, CAST(local_data AS VARCHAR) AS local_data, fields, status, created_at, resolution, "
            + "resolved_by, resolved_at, resolved_version FROM conflicts";

    /** Conflicts of a tenant, newest first, with optional type and status conditions. */
    String conflictList(boolean byType, boolean byStatus) {
        return CONFLICT_COLUMNS + " WHERE tenant = :tenant"
                + (byType ? " AND doc_type = :type" : "") + (byStatus ? " AND status = :status" : "")
                + " ORDER BY created_at DESC, id DESC LIMIT :limit";
    }
}
