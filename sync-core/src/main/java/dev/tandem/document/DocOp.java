package dev.tandem.document;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * One client operation on a document.
 *
 * <p>{@code opId} identifies the operation within the tenant: the store remembers applied ids,
 * so replaying an operation changes nothing the second time. An opId of the form
 * {@code {clientId}:{sequence}} (e.g. {@code c9:118}, the sequence a positive integer counting up
 * per client device) also gives the store the client's sequence, checked in the same
 * transaction as the write: gaps become visible and replays stay detectable after the applied
 * ids are pruned. Any other opId (1-256 characters) is idempotent by id alone.
 *
 * <p>{@code baseVersion} is the version the client's change is based on: 0 creates. Offline
 * clients send the last version they received from the server, not a version they predicted.
 *
 * <p>{@code afterOpId} names the same author's previous queued edit of the document, sent before
 * this one (or earlier in the same batch): its <em>predecessor</em>, the link of an edit chain.
 * The store then judges the operation against what its author is known to have seen: the
 * version the predecessor produced when it applied as it was, the resolution's version when the
 * predecessor's conflict was resolved, otherwise the version the predecessor was itself judged
 * against (never less than {@code baseVersion}). So a user's edits in a row apply one on top of
 * the other, while changes of other writers stay concurrent. While the predecessor's conflict is
 * open the operation is not attempted ({@link OpResult.Held}). An unknown predecessor (never
 * seen, rejected before it was recorded, or forgotten after the retention) leaves the operation
 * on its own {@code baseVersion}.
 *
 * @param ref         which document
 * @param baseVersion the version the change is based on, 0 for a new document
 * @param opId        the operation's id, unique per tenant
 * @param edit        what the operation does
 * @param afterOpId   the opId of the predecessor, if the operation follows one
 */
public record DocOp(DocRef ref, long baseVersion, String opId, Edit edit, Optional<String> afterOpId) {
    /** Longest accepted opId. */
    public static final int MAX_OP_ID = 256;

    private static final Pattern SEQUENCED = Pattern.compile("(.{1,200}):([1-9][0-9]{0,17})");

    /** Validates the fields. */
    public DocOp {
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(edit, "edit");
        Objects.requireNonNull(afterOpId, "afterOpId");
        if (baseVersion < 0) {
            throw new IllegalArgumentException("baseVersion must not be negative");
        }
        if (opId.isEmpty() || opId.length() > MAX_OP_ID) {
            throw new IllegalArgumentException("opId must have 1-" + MAX_OP_ID + " characters");
        }
        if (afterOpId.isPresent() && (afterOpId.get().isEmpty() || afterOpId.get().length() > MAX_OP_ID)) {
            throw new IllegalArgumentException("afterOpId must have 1-" + MAX_OP_ID + " characters");
        }
        if (afterOpId.isPresent() && afterOpId.get().equals(opId)) {
            throw new IllegalArgumentException("an operation cannot follow itself (afterOpId equals opId)");
        }
    }

    /** An operation that follows no other. */
    public DocOp(DocRef ref, long baseVersion, String opId, Edit edit) {
        this(ref, baseVersion, opId, edit, Optional.empty());
    }

    /** This operation judged against {@code version} instead of its own base. */
    public DocOp rebased(long version) {
        return new DocOp(ref, version, opId, edit, afterOpId);
    }

    /**
     * The client id and sequence when {@code opId} has the form {@code {clientId}:{sequence}}.
     */
    public Optional<Source> source() {
        Matcher m = SEQUENCED.matcher(opId);
        return m.matches() ? Optional.of(new Source(m.group(1), Long.parseLong(m.group(2)))) : Optional.empty();
    }

    /**
     * Where a sequenced operation comes from.
     *
     * @param clientId the client device
     * @param sequence the operation's number on that device, from 1
     */
    public record Source(String clientId, long sequence) {
    }

    /**
     * Converts a {@code doc.update} frame (also each op of {@code sync}).
     *
     * <p>{@code data} replaces the document. {@code patch} is
     * {@code {"set": {field: value}, "unset": [field], "inc": {field: number}}} (any of the three),
     * or {@code {"delete": true}} alone to delete.
     *
     * @throws ProtocolException {@code BAD_REQUEST} naming what is wrong
     */
    public static DocOp from(ClientFrame.DocUpdate frame) {
        try {
            DocRef ref = new DocRef(frame.docType(), frame.docId());
            Edit edit;
            if (frame.data().isPresent() == frame.patch().isPresent()) {
                throw new IllegalArgumentException("needs exactly one of 'data' or 'patch'");
            }
            if (frame.data().isPresent()) {
                if (!(frame.data().get() instanceof ObjectNode o)) {
                    throw new IllegalArgumentException("'data' must be an object");
                }
                edit = new Edit.Replace(o.deepCopy());
            } else {
                edit = patch(frame.patch().get());
            }
            return new DocOp(ref, frame.baseVersion(), frame.opId(), edit, frame.afterOpId());
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, frame.id(), e.getMessage());
        }
    }

    private static Edit patch(JsonNode patch) {
        if (!patch.isObject()) {
            throw new IllegalArgumentException("'patch' must be an object");
        }
        if (patch.has("delete")) {
            if (patch.size() != 1 || !patch.get("delete").isBoolean() || !patch.get("delete").booleanValue()) {
                throw new IllegalArgumentException("a delete patch is exactly {\"delete\": true}");
            }
            return new Edit.Delete();
        }
        Map<String, JsonNode> set = new HashMap<>();
        Set<String> unset = new HashSet<>();
        Map<String, BigDecimal> inc = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : patch.properties()) {
            JsonNode v = e.getValue();
            switch (e.getKey()) {
                case "set" -> {
                    if (!v.isObject()) {
                        throw new IllegalArgumentException("'patch.set' must be an object");
                    }
                    v.properties().forEach(f -> set.put(field(f.getKey()), f.getValue().deepCopy()));
                }
                case "unset" -> {
                    if (!v.isArray()) {
                        throw new IllegalArgumentException("'patch.unset' must be an array of field names");
                    }
                    for (JsonNode f : v) {
                        if (!f.isTextual()) {
                            throw new IllegalArgumentException("'patch.unset' must be an array of field names");
                        }
                        unset.add(field(f.textValue()));
                    }
                }
                case "inc" -> {
                    if (!v.isObject()) {
                        throw new IllegalArgumentException("'patch.inc' must be an object");
                    }
                    v.properties().forEach(f -> {
                        if (!f.getValue().isNumber()) {
                            throw new IllegalArgumentException("'patch.inc." + f.getKey() + "' must be a number");
                        }
                        inc.put(field(f.getKey()), f.getValue().decimalValue());
                    });
                }
                default -> throw new IllegalArgumentException("unknown patch key '" + shorten(e.getKey())
                        + "' (expected set, unset, inc or delete)");
            }
        }
        if (set.isEmpty() && unset.isEmpty() && inc.isEmpty()) {
            throw new IllegalArgumentException("the patch changes nothing");
        }
        return new Edit.Patch(set, unset, inc);
    }

    private static String field(String name) {
        if (name.isEmpty() || name.length() > 256) {
            throw new IllegalArgumentException("field names must have 1-256 characters");
        }
        return name;
    }

    private static String shorten(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
