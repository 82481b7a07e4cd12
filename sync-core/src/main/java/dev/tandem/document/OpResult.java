package dev.tandem.document;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The outcome of one operation. Every operation gets exactly one; in a {@code sync} batch they
 * come in the batch's order.
 */
public sealed interface OpResult {

    /** The operation's id. */
    String opId();

    /** The wire name of the outcome: {@code applied, merged, conflict, held, duplicate, rejected}. */
    String result();

    /**
     * The result as replies and the REST API carry it: {@code opId}, {@code result}, and
     * {@code version}, {@code strategy} and {@code fields}, {@code conflictId} and
     * {@code conflict}, or {@code code} and {@code reason}, as the outcome has them.
     */
    default com.fasterxml.jackson.databind.node.ObjectNode toJson() {
        var o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                .put("opId", opId()).put("result", result());
        switch (this) {
            case Applied a -> o.put("version", a.document().version());
            case Merged m -> {
                o.put("version", m.document().version()).put("strategy", m.strategy().wire());
                m.fields().forEach(o.putArray("fields")::add);
            }
            case Conflict c -> o.put("conflictId", c.record().id()).set("conflict", c.record().toJson());
            case Held h -> o.put("conflictId", h.conflictId());
            case Duplicate d -> o.put("version", d.version());
            case Rejected x -> o.put("code", x.code()).put("reason", x.reason());
        }
        return o;
    }

    /**
     * Applied at its base version: the document's next version.
     *
     * @param opId     the operation
     * @param document the new version
     */
    record Applied(String opId, Document document) implements OpResult {
        /** Validates the fields. */
        public Applied {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(document, "document");
        }

        /** The new version. */
        public long version() {
            return document.version();
        }

        @Override
        public String result() {
            return "applied";
        }
    }

    /**
     * Based on an older version and reconciled automatically by the type's policy. When
     * {@code fields} is empty nothing overlapped ({@link Strategy#MERGE}); otherwise the fields
     * overlapped and {@code strategy} decided them. The merge is in the audit trail. The version
     * may be unchanged when the stored values won everything.
     *
     * @param opId     the operation
     * @param document the resulting (current) version
     * @param fields   the overlapping fields, sorted
     * @param strategy how they were decided
     */
    record Merged(String opId, Document document, List<String> fields, Strategy strategy) implements OpResult {
        /** Validates and copies the fields. */
        public Merged {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(document, "document");
            fields = List.copyOf(fields);
            Objects.requireNonNull(strategy, "strategy");
        }

        /** The resulting version. */
        public long version() {
            return document.version();
        }

        @Override
        public String result() {
            return "merged";
        }
    }

    /**
     * Held as a manual conflict; nothing was applied. The author resolves it with
     * {@code conflict.resolve}.
     *
     * @param opId   the operation
     * @param record the conflict
     */
    record Conflict(String opId, ConflictRecord record) implements OpResult {
        /** Validates the fields. */
        public Conflict {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(record, "record");
        }

        @Override
        public String result() {
            return "conflict";
        }
    }

    /**
     * Not attempted: the operation follows a predecessor ({@link DocOp#afterOpId()}) whose manual
     * conflict is still open. Nothing was written or remembered, so the opId stays unspent: send
     * the operation again once that conflict is resolved, and it is judged against the
     * resolution's version.
     *
     * @param opId       the operation
     * @param conflictId the open conflict it waits for
     */
    record Held(String opId, String conflictId) implements OpResult {
        /** Validates the fields. */
        public Held {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(conflictId, "conflictId");
        }

        @Override
        public String result() {
            return "held";
        }
    }

    /**
     * Seen before: nothing changed this time.
     *
     * @param opId     the operation
     * @param version  the version the first delivery produced or met (the current version when
     *                 that is no longer known)
     * @param original the first delivery's result ({@code applied}, {@code merged},
     *                 {@code conflict}, {@code rejected}), when still known
     */
    record Duplicate(String opId, long version, Optional<String> original) implements OpResult {
        /** Validates the fields. */
        public Duplicate {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(original, "original");
        }

        @Override
        public String result() {
            return "duplicate";
        }
    }

    /**
     * Refused; the document did not change. {@link #CONSTRAINT} rejections are recorded (audit,
     * and a replay is a duplicate); the others write nothing.
     *
     * @param opId   the operation
     * @param code   {@link #CONSTRAINT}, {@link #NOT_FOUND}, {@link #BAD_REQUEST}, {@link #TOO_LARGE},
     *               {@link #STALE} or the guard's code (e.g. {@code forbidden})
     * @param reason a human-readable reason
     */
    record Rejected(String opId, String code, String reason) implements OpResult {
        /** An invariant of the type would break (e.g. {@code quantity >= 0}: the oversell case). */
        public static final String CONSTRAINT = "constraint";
        /** The document does not exist (or is deleted) and the operation does not create it. */
        public static final String NOT_FOUND = "not_found";
        /** The operation is malformed or does not fit the document (e.g. inc of a text field). */
        public static final String BAD_REQUEST = "bad_request";
        /** The operation or the resulting document is over the configured size. */
        public static final String TOO_LARGE = "too_large";
        /**
         * A replay of an operation whose manual conflict went stale: the document changed before
         * the conflict was resolved, so the operation never took effect.
         */
        public static final String STALE = "stale";

        /** Validates the fields. */
        public Rejected {
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(reason, "reason");
        }

        /** A rejection for an operation that could not even be decoded. */
        public static Rejected of(String opId, ProtocolException e) {
            String code = e.code() == ErrorCode.TOO_LARGE ? TOO_LARGE
                    : e.code() == ErrorCode.NOT_FOUND ? NOT_FOUND : BAD_REQUEST;
            return new Rejected(opId, code, e.getMessage());
        }

        @Override
        public String result() {
            return "rejected";
        }
    }
}
