package dev.tandem.document;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A manual conflict: an operation whose overlapping fields the type's policy leaves to a person.
 * Nothing of the operation was applied; the record keeps what is needed to decide.
 *
 * <p>{@code local} is the document as the author's change would make it (the server's data
 * with every change of the operation applied), so {@code accept_local} writes {@code local},
 * and {@code accept_server} writes {@code local} with the conflicted {@code fields} taken from
 * {@code server}. A record is resolved at most once, and only while the document is still at
 * {@code serverVersion}; otherwise it is stale.
 *
 * @param id            the conflict id
 * @param tenant        the tenant
 * @param ref           the document
 * @param opId          the operation that conflicted
 * @param author        the user who sent it
 * @param clientId      the author's client device, for sequenced opIds
 * @param baseVersion   the version the operation was based on
 * @param serverVersion the version it met
 * @param base          the data at {@code baseVersion} ({@code {}} when no longer kept)
 * @param server        the data at {@code serverVersion}
 * @param local         the data the author's change would give
 * @param fields        the conflicted top-level fields, sorted
 * @param status        open, resolved or stale
 * @param createdAt     when the conflict was recorded
 * @param outcome       how it was resolved, once it is
 */
public record ConflictRecord(String id, String tenant, DocRef ref, String opId, String author,
                             Optional<String> clientId, long baseVersion, long serverVersion,
                             JsonNode base, JsonNode server, JsonNode local, List<String> fields,
                             Status status, Instant createdAt, Optional<Outcome> outcome) {
    /** Validates and copies the fields. */
    public ConflictRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(author, "author");
        Objects.requireNonNull(clientId, "clientId");
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(local, "local");
        fields = List.copyOf(fields);
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(outcome, "outcome");
    }

    /** Where a conflict stands. */
    public enum Status {
        /** Waits for a resolution. */
        OPEN("open"),
        /** Resolved; {@link #outcome()} says how. */
        RESOLVED("resolved"),
        /** The document moved on before a resolution came; re-read and edit again. */
        STALE("stale");

        private final String wire;

        Status(String wire) {
            this.wire = wire;
        }

        /** The name in storage, filters and JSON. */
        public String wire() {
            return wire;
        }

        /** The status with this name. */
        public static Optional<Status> fromWire(String wire) {
            return Arrays.stream(values()).filter(s -> s.wire.equals(wire)).findFirst();
        }
    }

    /**
     * How a conflict was resolved.
     *
     * @param resolution which side won
     * @param by         the resolving user
     * @param at         when
     * @param version    the document version the resolution produced
     */
    public record Outcome(Resolution.Kind resolution, String by, Instant at, long version) {
        /** Validates the fields. */
        public Outcome {
            Objects.requireNonNull(resolution, "resolution");
            Objects.requireNonNull(by, "by");
            Objects.requireNonNull(at, "at");
        }
    }

    /**
     * The record as the {@code conflict} frame and the REST API show it: {@code conflictId,
     * docType, docId, opId, author, baseVersion, serverVersion, base, server, local, fields,
     * status, createdAt} and, once resolved, {@code resolution, resolvedBy, resolvedAt,
     * resolvedVersion}.
     */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("conflictId", id);
        o.put("docType", ref.type());
        o.put("docId", ref.id());
        o.put("opId", opId);
        o.put("author", author);
        o.put("baseVersion", baseVersion);
        o.put("serverVersion", serverVersion);
        o.set("base", base);
        o.set("server", server);
        o.set("local", local);
        var f = o.putArray("fields");
        fields.forEach(f::add);
        o.put("status", status.wire());
        o.put("createdAt", createdAt.toString());
        outcome.ifPresent(out -> {
            o.put("resolution", out.resolution().wire());
            o.put("resolvedBy", out.by());
            o.put("resolvedAt", out.at().toString());
            o.put("resolvedVersion", out.version());
        });
        return o;
    }
}
