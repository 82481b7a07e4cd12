package dev.tandem.conflict;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.document.DocOp;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Strategy;

/**
 * Decides what an operation does to a document: the pure heart of the store, with no I/O, so
 * every policy can be tested (and property-tested) without a database.
 *
 * <p>An operation at the current version applies as it is. An operation based on an older
 * version is a concurrent change: the fields it changes are compared with the fields that
 * <em>other</em> writers changed since its base (versions written by the same client device do
 * not count, so a client's own queued changes never conflict with each other). {@code inc} on a
 * counter field never overlaps; a field both sides changed overlaps unless both ended at the
 * same value; overlapping fields go to the type's strategy. When the history back to the base is
 * no longer kept, every field the operation changes is taken to overlap (never a silent loss).
 */
final class Merger {
    private Merger() {
    }

    /** The stored head of a document. */
    record Current(long version, ObjectNode data, boolean deleted, Instant updatedAt, Optional<String> opId,
                   String updatedBy) {
    }

    /**
     * A stored version. {@code origin} is the writing client device (or operation), {@code by}
     * the user who wrote it.
     */
    record Version(long version, ObjectNode data, boolean deleted, String origin, Optional<String> opId, Instant at,
                   String by) {
    }

    /** What to do. */
    sealed interface Decision {
        /** Write a new version as the operation says (it was based on the current version). */
        record Apply(ObjectNode data, boolean deleted) implements Decision {
        }

        /**
         * Write a new version reconciled by the policy. {@code overwrote} names, for every
         * overlapping field where the operation's value replaced another writer's (last write
         * wins, client wins), the user who wrote the replaced value.
         */
        record Merge(ObjectNode data, boolean deleted, List<String> fields, Strategy strategy,
                     Map<String, String> overwrote) implements Decision {
            Merge(ObjectNode data, boolean deleted, List<String> fields, Strategy strategy) {
                this(data, deleted, fields, strategy, Map.of());
            }
        }

        /** Keep the current version: the stored values won every change. */
        record Keep(List<String> fields, Strategy strategy) implements Decision {
        }

        /** Hold as a manual conflict; {@code local} is the author's result ({@code null} node: deleted). */
        record Hold(List<String> fields, JsonNode local) implements Decision {
        }

        /** Refuse; {@code recorded} rejections are audited and remembered as applied opIds. */
        record Reject(String code, String reason, boolean recorded) implements Decision {
        }
    }

    /** One field change of an operation. */
    private sealed interface Change {
        record Set(JsonNode value) implements Change {
        }

        record Unset() implements Change {
        }

        record Inc(BigDecimal delta) implements Change {
        }
    }

    /** A value that does not fit the change (inc of text). */
    private static final class BadValue extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadValue(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Decides an operation.
     *
     * @param policy     the type's policy
     * @param current    the stored head, if the document exists
     * @param history    stored versions from the base version (or 1 when the base is 0) to the
     *                   current one, ascending; may miss pruned ones
     * @param op         the operation
     * @param origin     the operation's client device (or the operation itself)
     * @param receivedAt when the server received it
     */
    static Decision decide(Policy policy, Optional<Current> current, List<Version> history, DocOp op, String origin,
                           Instant receivedAt) {
        try {
            return decideUnchecked(policy, current, history, op, origin, receivedAt);
        } catch (BadValue e) {
            return new Decision.Reject(OpResult.Rejected.BAD_REQUEST, e.getMessage(), false);
        }
    }

    private static Decision decideUnchecked(Policy policy, Optional<Current> head, List<Version> history, DocOp op,
                                            String origin, Instant receivedAt) {
        Edit edit = op.edit();
        if (head.isEmpty()) {
            if (op.baseVersion() != 0) {
                return new Decision.Reject(OpResult.Rejected.NOT_FOUND, "document " + op.ref() + " does not exist", false);
            }
            return switch (edit) {
                case Edit.Delete d -> new Decision.Reject(OpResult.Rejected.NOT_FOUND,
                        "document " + op.ref() + " does not exist", false);
                case Edit.Replace r -> checked(policy, Json.object(), new Decision.Apply(r.data().deepCopy(), false));
                case Edit.Patch p -> checked(policy, Json.object(), new Decision.Apply(applyAll(Json.object(), changes(p)), false));
            };
        }
        Current cur = head.get();
        if (op.baseVersion() > cur.version()) {
            return new Decision.Reject(OpResult.Rejected.BAD_REQUEST, "baseVersion " + op.baseVersion()
                    + " is ahead of the document (version " + cur.version() + ")", false);
        }
        if (cur.deleted()) {
            if (op.baseVersion() == cur.version() && edit instanceof Edit.Replace r) {
                return checked(policy, Json.object(), new Decision.Apply(r.data().deepCopy(), false));
            }
            return new Decision.Reject(OpResult.Rejected.NOT_FOUND, "document " + op.ref() + " was deleted (version "
                    + cur.version() + ")", false);
        }
        if (op.baseVersion() == cur.version()) {
            return switch (edit) {
                case Edit.Delete d -> new Decision.Apply(Json.object(), true);
                case Edit.Replace r -> checked(policy, cur.data(), new Decision.Apply(r.data().deepCopy(), false));
                case Edit.Patch p -> checked(policy, cur.data(), new Decision.Apply(applyAll(cur.data(), changes(p)), false));
            };
        }
        return concurrent(policy, cur, history, op, origin, receivedAt);
    }

    private static Decision concurrent(Policy policy, Current cur, List<Version> history, DocOp op, String origin,
                                       Instant receivedAt) {
        // which fields others changed since the base, and by which version last
        Optional<ObjectNode> base = baseData(history, op.baseVersion());
        Optional<Map<String, Version>> others = base.flatMap(b -> othersChanges(b, history, op.baseVersion(), cur.version(), origin));
        boolean known = others.isPresent();
        boolean othersChangedAnything = !known || !others.get().isEmpty();

        if (op.edit() instanceof Edit.Delete) {
            Set<String> overlap = new TreeSet<>(known ? others.get().keySet() : keys(cur.data()));
            if (overlap.isEmpty()) {
                return new Decision.Merge(Json.object(), true, List.of(), Strategy.MERGE);
            }
            List<String> fields = List.copyOf(overlap);
            return switch (policy.strategy()) {
                case CLIENT_WINS -> new Decision.Merge(Json.object(), true, fields, Strategy.CLIENT_WINS,
                        writers(overlap, others, cur));
                case SERVER_WINS -> new Decision.Keep(fields, Strategy.SERVER_WINS);
                case MANUAL -> new Decision.Hold(fields, NullNode.getInstance());
                case LAST_WRITE_WINS -> overlap.stream().allMatch(f -> clientWins(f, others, cur, op, receivedAt))
                        ? new Decision.Merge(Json.object(), true, fields, Strategy.LAST_WRITE_WINS,
                                writers(overlap, others, cur))
                        : new Decision.Keep(fields, Strategy.LAST_WRITE_WINS);
                case MERGE -> throw new IllegalStateException("not an overlap strategy");
            };
        }

        Map<String, Change> changes = switch (op.edit()) {
            case Edit.Patch p -> changes(p);
            case Edit.Replace r -> diff(base.orElse(cur.data()), r.data());
            case Edit.Delete d -> throw new IllegalStateException("handled above");
        };
        Set<String> overlap = new TreeSet<>();
        for (Map.Entry<String, Change> e : changes.entrySet()) {
            String f = e.getKey();
            Change c = e.getValue();
            if (c instanceof Change.Inc && policy.counters().contains(f)) {
                continue; // deltas commute
            }
            boolean touched = policy.merge() ? !known || others.get().containsKey(f) : othersChangedAnything;
            if (!touched) {
                continue;
            }
            JsonNode now = cur.data().get(f);
            boolean converged = switch (c) {
                case Change.Set s -> Json.same(now, s.value());
                case Change.Unset u -> now == null;
                case Change.Inc i -> false;
            };
            if (!converged) {
                overlap.add(f);
            }
        }
        List<String> fields = List.copyOf(overlap);
        if (overlap.isEmpty()) {
            return checked(policy, cur.data(), new Decision.Merge(applyAll(cur.data(), changes), false, fields, Strategy.MERGE));
        }
        return switch (policy.strategy()) {
            case CLIENT_WINS -> checked(policy, cur.data(), new Decision.Merge(applyAll(cur.data(), changes), false,
                    fields, Strategy.CLIENT_WINS, writers(overlap, others, cur)));
            case MANUAL -> {
                ObjectNode local = applyAll(cur.data(), changes);
                Optional<String> broken = violation(policy, cur.data(), local);
                yield broken.<Decision>map(r -> new Decision.Reject(OpResult.Rejected.CONSTRAINT, r, true))
                        .orElseGet(() -> new Decision.Hold(fields, local));
            }
            case SERVER_WINS -> partial(policy, cur, changes, overlap, fields, Strategy.SERVER_WINS, Map.of());
            case LAST_WRITE_WINS -> {
                Set<String> losers = new TreeSet<>();
                Set<String> won = new TreeSet<>();
                for (String f : overlap) {
                    if (clientWins(f, others, cur, op, receivedAt)) {
                        won.add(f);
                    } else {
                        losers.add(f);
                    }
                }
                yield partial(policy, cur, changes, losers, fields, Strategy.LAST_WRITE_WINS, writers(won, others, cur));
            }
            case MERGE -> throw new IllegalStateException("not an overlap strategy");
        };
    }

    /** Applies the changes except those to {@code losers}; keeps the version when nothing is left. */
    private static Decision partial(Policy policy, Current cur, Map<String, Change> changes, Set<String> losers,
                                    List<String> fields, Strategy strategy, Map<String, String> overwrote) {
        Map<String, Change> kept = new LinkedHashMap<>(changes);
        kept.keySet().removeAll(losers);
        if (kept.isEmpty()) {
            return new Decision.Keep(fields, strategy);
        }
        return checked(policy, cur.data(), new Decision.Merge(applyAll(cur.data(), kept), false, fields, strategy,
                overwrote));
    }

    /**
     * Who wrote the stored value of each field: the last other writer since the base when the
     * history is known, else the writer of the current version.
     */
    private static Map<String, String> writers(Set<String> fields, Optional<Map<String, Version>> others, Current cur) {
        Map<String, String> by = new java.util.TreeMap<>();
        for (String f : fields) {
            Version v = others.map(o -> o.get(f)).orElse(null);
            by.put(f, v != null ? v.by() : cur.updatedBy());
        }
        return by;
    }

    /**
     * Last write wins by server receive time: the operation (received now) against the version
     * that last changed the field; equal times fall back to comparing operation ids, so every
     * node decides the same.
     */
    private static boolean clientWins(String field, Optional<Map<String, Version>> others, Current cur, DocOp op,
                                      Instant receivedAt) {
        Instant serverAt = cur.updatedAt();
        String serverOp = cur.opId().orElse("");
        if (others.isPresent() && others.get().containsKey(field)) {
            Version v = others.get().get(field);
            serverAt = v.at();
            serverOp = v.opId().orElse("");
        }
        int c = receivedAt.compareTo(serverAt);
        return c > 0 || (c == 0 && op.opId().compareTo(serverOp) > 0);
    }

    /** The data at the base version: {@code {}} for 0, empty when that version is no longer kept. */
    private static Optional<ObjectNode> baseData(List<Version> history, long baseVersion) {
        if (baseVersion == 0) {
            return Optional.of(Json.object());
        }
        return history.stream().filter(v -> v.version() == baseVersion).findFirst()
                .map(v -> v.deleted() ? Json.object() : v.data());
    }

    /**
     * For every field changed after the base by a version of another origin, the last such
     * version; empty when a version in between is missing.
     */
    private static Optional<Map<String, Version>> othersChanges(ObjectNode base, List<Version> history, long baseVersion,
                                                                long currentVersion, String origin) {
        Map<String, Version> last = new HashMap<>();
        ObjectNode prev = base;
        long expected = baseVersion + 1;
        for (Version v : history) {
            if (v.version() <= baseVersion) {
                continue;
            }
            if (v.version() != expected) {
                return Optional.empty();
            }
            ObjectNode data = v.deleted() ? Json.object() : v.data();
            if (!v.origin().equals(origin)) {
                for (String f : Json.changedFields(prev, data)) {
                    last.put(f, v);
                }
            }
            prev = data;
            expected++;
        }
        return expected == currentVersion + 1 ? Optional.of(last) : Optional.empty();
    }

    private static Decision checked(Policy policy, ObjectNode before, Decision decision) {
        ObjectNode after = switch (decision) {
            case Decision.Apply a -> a.deleted() ? null : a.data();
            case Decision.Merge m -> m.deleted() ? null : m.data();
            default -> null;
        };
        if (after == null) {
            return decision;
        }
        return violation(policy, before, after)
                .<Decision>map(r -> new Decision.Reject(OpResult.Rejected.CONSTRAINT, r, true))
                .orElse(decision);
    }

    /**
     * The first invariant the change breaks. Only rules on fields the change touches are checked:
     * a document stored before a rule was configured can still be edited elsewhere.
     */
    static Optional<String> violation(Policy policy, ObjectNode before, ObjectNode after) {
        for (Invariant i : policy.invariants()) {
            if (!Json.same(before.get(i.field()), after.get(i.field()))) {
                Optional<String> why = i.check(after);
                if (why.isPresent()) {
                    return why;
                }
            }
        }
        return Optional.empty();
    }

    private static Map<String, Change> changes(Edit.Patch p) {
        Map<String, Change> changes = new LinkedHashMap<>();
        p.set().forEach((f, v) -> changes.put(f, new Change.Set(v)));
        p.unset().forEach(f -> changes.put(f, new Change.Unset()));
        p.inc().forEach((f, d) -> changes.put(f, new Change.Inc(d)));
        return changes;
    }

    private static Map<String, Change> diff(ObjectNode from, ObjectNode to) {
        Map<String, Change> changes = new LinkedHashMap<>();
        for (String f : Json.changedFields(from, to)) {
            JsonNode v = to.get(f);
            changes.put(f, v == null ? new Change.Unset() : new Change.Set(v));
        }
        return changes;
    }

    private static ObjectNode applyAll(ObjectNode data, Map<String, Change> changes) {
        ObjectNode result = data.deepCopy();
        changes.forEach((f, c) -> {
            switch (c) {
                case Change.Set s -> result.set(f, s.value().deepCopy());
                case Change.Unset u -> result.remove(f);
                case Change.Inc i -> {
                    JsonNode now = result.get(f);
                    if (now != null && !now.isNumber()) {
                        throw new BadValue("cannot inc '" + f + "': it is not a number");
                    }
                    BigDecimal value = now == null ? BigDecimal.ZERO : now.decimalValue();
                    result.set(f, Json.number(value.add(i.delta())));
                }
            }
        });
        return result;
    }

    private static List<String> keys(ObjectNode o) {
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            keys.add(it.next());
        }
        return keys;
    }
}
