package dev.tandem.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An operation as the queue holds it (mutable, confined to the queue's thread) and as the
 * journal stores it (JSON).
 */
final class OpEntry {
    final String opId;
    final long seq;
    final String docType;
    final String docId;
    final long baseVersion;
    final DocChange change;
    final Instant createdAt;
    String owner;
    OpStatus status = OpStatus.QUEUED;
    String code;
    String reason;
    Long version;
    List<String> fields = List.of();
    String strategy;
    String conflictId;
    int attempts;
    Instant updatedAt;
    boolean durable = true;
    Resolution resolution;
    /** The predecessor in the document's edit chain ({@link EditChain}), if any. */
    String afterOpId;
    /** The open conflict this queued edit waits for, if any. */
    String heldBy;

    OpEntry(String opId, long seq, String docType, String docId, long baseVersion, DocChange change, Instant createdAt) {
        this.opId = opId;
        this.seq = seq;
        this.docType = docType;
        this.docId = docId;
        this.baseVersion = baseVersion;
        this.change = change;
        this.createdAt = createdAt;
        this.updatedAt = createdAt;
    }

    QueuedOp view(boolean done) {
        return new QueuedOp(opId, seq, docType, docId, baseVersion, change, status, Optional.ofNullable(code),
                Optional.ofNullable(reason), version == null ? OptionalLong.empty() : OptionalLong.of(version), fields,
                Optional.ofNullable(strategy), Optional.ofNullable(conflictId), attempts, createdAt, updatedAt,
                Optional.ofNullable(owner), durable, done, Optional.ofNullable(resolution), Optional.ofNullable(afterOpId),
                Optional.ofNullable(heldBy));
    }

    /** The body of this operation in a {@code sync} batch. */
    ObjectNode body() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("docType", docType).put("docId", docId).put("baseVersion", baseVersion).put("opId", opId);
        if (afterOpId != null) {
            o.put("afterOpId", afterOpId);
        }
        o.setAll(change.toJson());
        return o;
    }

    ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("opId", opId).put("seq", seq).put("docType", docType).put("docId", docId).put("baseVersion", baseVersion);
        o.set("change", change.toJson());
        o.put("createdAt", createdAt.toString()).put("updatedAt", updatedAt.toString());
        // an operation that was being sent when the process ended is sent again (the server
        // answers duplicate if it had arrived)
        o.put("status", (status == OpStatus.SENDING ? OpStatus.QUEUED : status).wire());
        o.put("attempts", attempts);
        if (owner != null) {
            o.put("owner", owner);
        }
        if (code != null) {
            o.put("code", code);
        }
        if (reason != null) {
            o.put("reason", reason);
        }
        if (version != null) {
            o.put("version", version);
        }
        if (!fields.isEmpty()) {
            fields.forEach(o.putArray("fields")::add);
        }
        if (strategy != null) {
            o.put("strategy", strategy);
        }
        if (conflictId != null) {
            o.put("conflictId", conflictId);
        }
        if (afterOpId != null) {
            o.put("afterOpId", afterOpId);
        }
        if (heldBy != null) {
            o.put("heldBy", heldBy);
        }
        return o;
    }

    /**
     * Reads an entry from the journal.
     *
     * @throws IllegalArgumentException if it is malformed
     */
    static OpEntry fromJson(JsonNode o) {
        if (!o.path("opId").isTextual() || !o.path("seq").canConvertToLong() || !o.path("docType").isTextual()
                || !o.path("docId").isTextual() || !o.path("change").isObject()) {
            throw new IllegalArgumentException("not a queued operation");
        }
        OpEntry e = new OpEntry(o.get("opId").textValue(), o.get("seq").asLong(), o.get("docType").textValue(),
                o.get("docId").textValue(), o.path("baseVersion").asLong(0), DocChange.fromJson(o.get("change")),
                Instant.parse(o.path("createdAt").asText(Instant.EPOCH.toString())));
        e.updatedAt = Instant.parse(o.path("updatedAt").asText(e.createdAt.toString()));
        e.status = OpStatus.fromWire(o.path("status").asText("")).orElse(OpStatus.QUEUED);
        if (e.status == OpStatus.SENDING) {
            e.status = OpStatus.QUEUED;
        }
        e.attempts = o.path("attempts").asInt(0);
        e.owner = text(o, "owner");
        e.code = text(o, "code");
        e.reason = text(o, "reason");
        e.version = o.path("version").canConvertToLong() && o.has("version") ? o.get("version").asLong() : null;
        List<String> fields = new ArrayList<>();
        o.path("fields").forEach(f -> fields.add(f.asText()));
        e.fields = List.copyOf(fields);
        e.strategy = text(o, "strategy");
        e.conflictId = text(o, "conflictId");
        e.afterOpId = text(o, "afterOpId");
        e.heldBy = text(o, "heldBy");
        return e;
    }

    private static String text(JsonNode o, String name) {
        JsonNode v = o.get(name);
        return v != null && v.isTextual() ? v.textValue() : null;
    }
}
