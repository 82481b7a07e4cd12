package dev.tandem.document;

import java.time.Instant;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One version of a document as stored. A deleted document is a versioned tombstone: it keeps
 * its version (so a late update based on an older version is detected) and has empty data.
 *
 * @param ref       which document
 * @param version   the version, 1 for the first; increases by one with every accepted change
 * @param data      the JSON object
 * @param updatedAt when the server accepted this version
 * @param updatedBy the user whose change (or resolution) made this version
 * @param createdBy the user who created the document (its author, for {@link DocumentAccess})
 * @param deleted   whether this version is a tombstone
 */
public record Document(DocRef ref, long version, JsonNode data, Instant updatedAt, String updatedBy, String createdBy,
                       boolean deleted) {
    /** Validates the fields. */
    public Document {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(updatedAt, "updatedAt");
        Objects.requireNonNull(updatedBy, "updatedBy");
        Objects.requireNonNull(createdBy, "createdBy");
        if (version < 1) {
            throw new IllegalArgumentException("version must be positive");
        }
    }

    /**
     * The document as clients see it in replies and events:
     * {@code {docType, docId, version, data, updatedAt, updatedBy, createdBy, deleted}}.
     */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("docType", ref.type());
        o.put("docId", ref.id());
        o.put("version", version);
        o.set("data", data);
        o.put("updatedAt", updatedAt.toString());
        o.put("updatedBy", updatedBy);
        o.put("createdBy", createdBy);
        o.put("deleted", deleted);
        return o;
    }
}
