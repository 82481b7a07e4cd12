package dev.tandem.document;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One entry of a document's audit trail: an automatic merge, a resolution, a recorded
 * rejection, or a conflict being opened. Written in the same transaction as what it describes.
 *
 * @param id            increasing per store
 * @param ref           the document
 * @param action        {@code merge}, {@code resolve}, {@code reject} or {@code conflict}
 * @param strategy      the strategy of a merge, the resolution of a {@code resolve}
 *                      ({@code accept_local} …), the type's strategy otherwise
 * @param fields        the overlapping / conflicted fields
 * @param actor         the user whose operation or resolution it was
 * @param opId          the operation, when one caused it
 * @param conflictId    the conflict, for {@code conflict} and {@code resolve}
 * @param versionBefore the version before
 * @param versionAfter  the version after (equal when nothing was written)
 * @param before        the data before
 * @param after         the data after (for {@code conflict}: the author's proposal)
 * @param reason        why, for rejections; empty otherwise
 * @param at            when
 */
public record AuditEntry(long id, DocRef ref, String action, String strategy, List<String> fields, String actor,
                         Optional<String> opId, Optional<String> conflictId, long versionBefore, long versionAfter,
                         JsonNode before, JsonNode after, String reason, Instant at) {
    /** Validates and copies the fields. */
    public AuditEntry {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(strategy, "strategy");
        fields = List.copyOf(fields);
        Objects.requireNonNull(actor, "actor");
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(conflictId, "conflictId");
        Objects.requireNonNull(before, "before");
        Objects.requireNonNull(after, "after");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(at, "at");
    }

    /** The entry as the REST API shows it. */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("id", id);
        o.put("docType", ref.type());
        o.put("docId", ref.id());
        o.put("action", action);
        o.put("strategy", strategy);
        var f = o.putArray("fields");
        fields.forEach(f::add);
        o.put("actor", actor);
        opId.ifPresent(v -> o.put("opId", v));
        conflictId.ifPresent(v -> o.put("conflictId", v));
        o.put("versionBefore", versionBefore);
        o.put("versionAfter", versionAfter);
        o.set("before", before);
        o.set("after", after);
        if (!reason.isEmpty()) {
            o.put("reason", reason);
        }
        o.put("at", at.toString());
        return o;
    }
}
