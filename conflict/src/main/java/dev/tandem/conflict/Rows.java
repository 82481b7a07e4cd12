package dev.tandem.conflict;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Resolution;

import io.helidon.dbclient.DbRow;

/**
 * Rows to records and back: column values by lower-case name (H2 reports unquoted names in
 * upper case, PostgreSQL in lower case, and DbRow looks names up exactly), timestamps across the
 * drivers' types, and the named parameters that identify a document.
 */
final class Rows {
    private Rows() {
    }

    /** The stored head of a document. */
    record Head(long version, ObjectNode data, boolean deleted, Instant updatedAt, String updatedBy, String createdBy,
                Optional<String> opId) {
        Document document(DocRef ref) {
            return new Document(ref, version, data, updatedAt, updatedBy, createdBy, deleted);
        }

        Merger.Current current() {
            return new Merger.Current(version, data, deleted, updatedAt, opId, updatedBy);
        }
    }

    /** A row's values by lower-case column name. */
    record Row(Map<String, Object> values) {
        static Row of(DbRow row) {
            Map<String, Object> values = new HashMap<>();
            row.forEach(c -> values.put(c.name().toLowerCase(Locale.ROOT), c.get(Object.class)));
            return new Row(values);
        }

        Object get(String column) {
            if (!values.containsKey(column)) {
                throw new IllegalStateException("no column " + column);
            }
            return values.get(column);
        }

        long longOf(String column) {
            return ((Number) get(column)).longValue();
        }

        boolean boolOf(String column) {
            return (Boolean) get(column);
        }

        String stringOf(String column) {
            return String.valueOf(get(column));
        }

        Optional<String> optionalString(String column) {
            return Optional.ofNullable(get(column)).map(String::valueOf);
        }

        /** Drivers differ: PostgreSQL answers Timestamp for timestamptz, H2 OffsetDateTime. */
        Instant instantOf(String column) {
            Object v = get(column);
            return switch (v) {
                case Timestamp t -> t.toInstant();
                case OffsetDateTime o -> o.toInstant();
                case Instant i -> i;
                case LocalDateTime l -> l.toInstant(ZoneOffset.UTC);
                default -> throw new IllegalStateException("unexpected timestamp type " + v.getClass().getName());
            };
        }
    }

    static Head head(DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new Head(row.longOf("version"), Json.parseObject(row.stringOf("data")), row.boolOf("deleted"),
                row.instantOf("updated_at"), row.stringOf("updated_by"), row.stringOf("created_by"),
                row.optionalString("op_id"));
    }

    /** A head row of a query, which names its document id. */
    static Document document(String type, DbRow dbRow) {
        Row row = Row.of(dbRow);
        Head h = new Head(row.longOf("version"), Json.parseObject(row.stringOf("data")), row.boolOf("deleted"),
                row.instantOf("updated_at"), row.stringOf("updated_by"), row.stringOf("created_by"),
                row.optionalString("op_id"));
        return h.document(new DocRef(type, row.stringOf("doc_id")));
    }

    static Merger.Version version(DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new Merger.Version(row.longOf("version"), Json.parseObject(row.stringOf("data")), row.boolOf("deleted"),
                row.stringOf("origin"), row.optionalString("op_id"), row.instantOf("updated_at"),
                row.stringOf("updated_by"));
    }

    static ConflictRecord conflict(DbRow dbRow) {
        Row row = Row.of(dbRow);
        ConflictRecord.Status status = ConflictRecord.Status.fromWire(row.stringOf("status")).orElseThrow();
        Optional<ConflictRecord.Outcome> outcome = row.optionalString("resolution").map(r -> new ConflictRecord.Outcome(
                Resolution.Kind.fromWire(r).orElseThrow(), row.stringOf("resolved_by"), row.instantOf("resolved_at"),
                row.longOf("resolved_version")));
        return new ConflictRecord(row.stringOf("id"), row.stringOf("tenant"),
                new DocRef(row.stringOf("doc_type"), row.stringOf("doc_id")), row.stringOf("op_id"),
                row.stringOf("author"), row.optionalString("client_id"), row.longOf("base_version"),
                row.longOf("server_version"), Json.parse(row.stringOf("base_data")),
                Json.parse(row.stringOf("server_data")), Json.parse(row.stringOf("local_data")),
                fields(row.stringOf("fields")), status, row.instantOf("created_at"), outcome);
    }

    static AuditEntry audit(DocRef ref, DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new AuditEntry(row.longOf("id"), ref, row.stringOf("action"), row.stringOf("strategy"),
                fields(row.stringOf("fields")), row.stringOf("actor"), row.optionalString("op_id"),
                row.optionalString("conflict_id"), row.longOf("version_before"), row.longOf("version_after"),
                Json.parse(row.stringOf("data_before")), Json.parse(row.stringOf("data_after")),
                row.stringOf("reason"), row.instantOf("created_at"));
    }

    static List<String> fields(String json) {
        List<String> fields = new ArrayList<>();
        if (Json.parse(json) instanceof ArrayNode a) {
            a.forEach(f -> fields.add(f.asText()));
        }
        return fields;
    }

    /** The named parameters {@code tenant, type, id} of a document (a mutable map to add to). */
    static Map<String, Object> key(String tenant, DocRef ref) {
        Map<String, Object> p = new HashMap<>();
        p.put("tenant", tenant);
        p.put("type", ref.type());
        p.put("id", ref.id());
        return p;
    }

    static OffsetDateTime timestamp(Instant at) {
        return OffsetDateTime.ofInstant(at, ZoneOffset.UTC);
    }
}
