package dev.tandem.conflict;

import java.util.Map;
import java.util.Optional;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.OpResult;

import io.helidon.dbclient.DbTransaction;

/**
 * What became of an operation the author sent before, read inside the current operation's
 * transaction from the author's applied opIds and conflict records: for the predecessor an
 * operation follows ({@link DocOp#afterOpId()}), and for a replayed operation.
 */
final class EarlierOps {
    private final Sql sql;

    EarlierOps(Sql sql) {
        this.sql = sql;
    }

    /** Where a predecessor stands. */
    sealed interface Standing {
        /**
         * The follower's author is known to have seen this version: the one the predecessor
         * produced when it applied as it was, the resolution's when its conflict was resolved,
         * otherwise the one the predecessor itself was judged against (a merge folded in changes
         * of others the author has not seen, so they stay concurrent to the follower).
         */
        record Knows(long version) implements Standing {
        }

        /** Its manual conflict is still open. */
        record Waiting(ConflictRecord conflict) implements Standing {
        }

        /** Not seen (or no longer remembered), or an edit of another document. */
        record Nothing() implements Standing {
        }
    }

    /** Where the operation {@code afterOpId} of {@code author} on {@code ref} stands. */
    Standing predecessor(DbTransaction tx, String tenant, String author, DocRef ref, String afterOpId) {
        Optional<Rows.Row> found = seen(tx, tenant, author, afterOpId);
        if (found.isEmpty() || !ref.type().equals(found.get().stringOf("doc_type"))
                || !ref.id().equals(found.get().stringOf("doc_id"))) {
            return new Standing.Nothing();
        }
        Rows.Row row = found.get();
        // rows written before edit chains have no base_version
        Standing judged = row.get("base_version") instanceof Number base ? new Standing.Knows(base.longValue())
                : new Standing.Nothing();
        return switch (row.stringOf("result")) {
            case "applied" -> new Standing.Knows(row.longOf("version"));
            case "conflict" -> conflictOf(tx, tenant, author, afterOpId).<Standing>map(c -> switch (c.status()) {
                case OPEN -> new Standing.Waiting(c);
                case RESOLVED -> new Standing.Knows(c.outcome().orElseThrow().version());
                case STALE -> judged;
            }).orElse(judged);
            default -> judged;
        };
    }

    /** The author's earlier delivery of {@code opId}: {@code result, version, doc_type, doc_id}. */
    Optional<Rows.Row> seen(DbTransaction tx, String tenant, String author, String opId) {
        return tx.createNamedGet("op-seen", sql.opSeen).params(Map.of("tenant", tenant, "author", author, "op", opId))
                .execute().map(Rows.Row::of);
    }

    /**
     * The answer to a replay of {@code op}, first delivered as {@code first}, so that a client whose
     * first answer was lost learns what became of the operation: a duplicate when it took effect;
     * rejected again when it was rejected (only invariant breaches are recorded); for an operation
     * that met a manual conflict, where that conflict stands (still open: the conflict again;
     * resolved: a duplicate at the resolution's version; stale: rejected, it never took effect).
     */
    OpResult replay(DbTransaction tx, String tenant, String author, DocOp op, Rows.Row first) {
        String result = first.stringOf("result");
        if ("rejected".equals(result)) {
            return new OpResult.Rejected(op.opId(), OpResult.Rejected.CONSTRAINT, "it was rejected when first "
                    + "received (an invariant of the type, at version " + first.longOf("version") + "); nothing changed");
        }
        Optional<ConflictRecord> conflict = "conflict".equals(result)
                ? conflictOf(tx, tenant, author, op.opId()) : Optional.empty();
        if (conflict.isEmpty()) {
            return new OpResult.Duplicate(op.opId(), first.longOf("version"), Optional.of(result));
        }
        ConflictRecord c = conflict.get();
        return switch (c.status()) {
            case OPEN -> new OpResult.Conflict(op.opId(), c);
            case RESOLVED -> new OpResult.Duplicate(op.opId(), c.outcome().orElseThrow().version(), Optional.of(result));
            case STALE -> new OpResult.Rejected(op.opId(), OpResult.Rejected.STALE, "its conflict " + c.id()
                    + " went stale: the document changed before it was resolved; read it and edit again");
        };
    }

    private Optional<ConflictRecord> conflictOf(DbTransaction tx, String tenant, String author, String opId) {
        return tx.createNamedGet("conflict-of-op", sql.conflictOfOp)
                .params(Map.of("tenant", tenant, "author", author, "op", opId)).execute().map(Rows::conflict);
    }
}
