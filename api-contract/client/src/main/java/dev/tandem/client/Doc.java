package dev.tandem.client;

import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A document as the server shows it ({@code doc.get}, snapshots, {@code doc.changed} events).
 *
 * @param docType   the document type
 * @param docId     the document id
 * @param version   1 for the first version, +1 per accepted change
 * @param data      the data (a copy; empty for a deleted document)
 * @param updatedAt when the version was written (ISO-8601, as sent)
 * @param updatedBy who wrote it
 * @param deleted   whether this version is a tombstone
 */
public record Doc(String docType, String docId, long version, ObjectNode data, String updatedAt, String updatedBy,
                  boolean deleted) {
    /** Validates and copies. */
    public Doc {
        Objects.requireNonNull(docType, "docType");
        Objects.requireNonNull(docId, "docId");
        data = Objects.requireNonNull(data, "data").deepCopy();
        Objects.requireNonNull(updatedAt, "updatedAt");
        Objects.requireNonNull(updatedBy, "updatedBy");
    }

    /** The data (a copy, so the document stays as received). */
    @Override
    public ObjectNode data() {
        return data.deepCopy();
    }

    /** Parses a document from the wire; empty when it is not one. */
    public static Optional<Doc> from(JsonNode v) {
        if (v == null || !v.isObject() || !v.path("docType").isTextual() || !v.path("docId").isTextual()
                || !v.path("version").isIntegralNumber() || !v.path("data").isObject()) {
            return Optional.empty();
        }
        return Optional.of(new Doc(v.get("docType").textValue(), v.get("docId").textValue(), v.get("version").asLong(),
                (ObjectNode) v.get("data"), v.path("updatedAt").asText(""), v.path("updatedBy").asText(""),
                v.path("deleted").asBoolean(false)));
    }
}
