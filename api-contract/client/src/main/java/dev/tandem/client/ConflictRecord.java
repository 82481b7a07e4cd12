package dev.tandem.client;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A manual conflict: the author's change met another one on overlapping fields and waits for
 * a person ({@link Documents#resolve}).
 *
 * @param conflictId    the conflict
 * @param docType       the document type
 * @param docId         the document id
 * @param opId          the operation that conflicted
 * @param author        who made it
 * @param baseVersion   the version the change was made on
 * @param serverVersion the version it met
 * @param base          the data at the base version ({} when no longer kept)
 * @param server        the data on the server
 * @param local         the data the author's change would give
 * @param fields        the conflicted top-level fields
 * @param status        {@code open}, {@code resolved} or {@code stale}
 * @param raw           everything the server sent (a copy)
 */
public record ConflictRecord(String conflictId, String docType, String docId, String opId, String author,
                             long baseVersion, long serverVersion, ObjectNode base, ObjectNode server,
                             ObjectNode local, List<String> fields, String status, ObjectNode raw) {
    /** Validates and copies. */
    public ConflictRecord {
        Objects.requireNonNull(conflictId, "conflictId");
        fields = List.copyOf(fields);
        base = base.deepCopy();
        server = server.deepCopy();
        local = local.deepCopy();
        raw = raw.deepCopy();
    }

    /** Whether the conflict still waits for a resolution. */
    public boolean isOpen() {
        return "open".equals(status);
    }

    /** Parses a conflict record from the wire; empty when it has no conflict id. */
    public static Optional<ConflictRecord> from(JsonNode v) {
        if (v == null || !v.isObject() || !v.path("conflictId").isTextual()) {
            return Optional.empty();
        }
        List<String> fields = new ArrayList<>();
        v.path("fields").forEach(f -> {
            if (f.isTextual()) {
                fields.add(f.textValue());
            }
        });
        return Optional.of(new ConflictRecord(v.get("conflictId").textValue(), v.path("docType").asText(""),
                v.path("docId").asText(""), v.path("opId").asText(""), v.path("author").asText(""),
                v.path("baseVersion").asLong(0), v.path("serverVersion").asLong(0), object(v.get("base")),
                object(v.get("server")), object(v.get("local")), fields, v.path("status").asText("open"),
                (ObjectNode) v));
    }

    private static ObjectNode object(JsonNode n) {
        return n != null && n.isObject() ? (ObjectNode) n : JsonNodeFactory.instance.objectNode();
    }
}
