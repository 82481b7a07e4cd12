package dev.tandem.it.client;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.client.Doc;
import dev.tandem.client.ConflictRecord;
import dev.tandem.client.DocChange;
import dev.tandem.client.Documents;
import dev.tandem.client.OpStatus;
import dev.tandem.client.QueuedOp;

/**
 * What a generated scenario did and what its applications were told, and the check that the two
 * agree: every edit ended in a final status the application heard, and every stored document is
 * what those statuses and the resolutions' replies imply, version by version: each version from
 * the seed on was reported by exactly the edit or resolution that wrote it, and replaying those
 * writes gives the stored data. Where a report cannot say which values won (a last-write-wins
 * merge's overlapping fields, a replay answered {@code duplicate}), both outcomes are allowed.
 */
final class EditLedger {
    /** How a document type of the scenario reconciles concurrent edits. */
    enum Policy { COUNTER, LAST_WRITE_WINS, SERVER_WINS, CLIENT_WINS, MANUAL }

    private static final String ABSENT = "<absent>";

    private record Queued(String user, String docType, String docId, DocChange.Patch change) {
    }

    private record Resolved(String user, long version, ObjectNode data) {
    }

    /** A resolution refused because its conflict went stale: the document had moved past {@code serverVersion}. */
    private record Stale(String user, String doc, String conflictId, long serverVersion) {
    }

    /**
     * One report, by {@code user}, that a version was written, or met: the edit's change, of which the
     * {@code skipped} fields were not written (the stored value won) and whether the
     * {@code contested} ones were is not told; or a resolution's {@code data}.
     */
    private record Claim(String user, String what, DocChange.Patch change, Effect effect, ObjectNode data,
                         Set<String> skipped, Set<String> contested) {
        static Claim of(Queued q, String what, Effect effect, Set<String> skipped, Set<String> contested) {
            return new Claim(q.user(), what, q.change(), effect, null, skipped, contested);
        }
    }

    /** How sure a claim is that it wrote its version. */
    private enum Effect { WROTE, MAY_HAVE_WRITTEN, KEPT }

    private final Map<String, Policy> policies;
    private final Map<String, Queued> queued = new ConcurrentHashMap<>();
    private final Map<String, List<QueuedOp>> heard = new ConcurrentHashMap<>();
    private final Map<String, ObjectNode> seeds = new ConcurrentHashMap<>();
    private final Map<String, List<Resolved>> resolutions = new ConcurrentHashMap<>();
    private final List<Stale> stale = new CopyOnWriteArrayList<>();

    EditLedger(Map<String, Policy> policies) {
        this.policies = Map.copyOf(policies);
    }

    /** The listener every client of the scenario reports to. */
    Documents.Listener listener() {
        return new Documents.Listener() {
            @Override
            public void op(QueuedOp op) {
                heard.computeIfAbsent(op.opId(), k -> new CopyOnWriteArrayList<>()).add(op);
            }
        };
    }

    void seeded(String docType, String docId, ObjectNode data) {
        seeds.put(key(docType, docId), data.deepCopy());
    }

    void queued(String user, QueuedOp op) {
        queued.put(op.opId(), new Queued(user, op.docType(), op.docId(), (DocChange.Patch) op.change()));
    }

    void resolved(String user, Doc doc) {
        Resolved r = new Resolved(user, doc.version(), doc.data().deepCopy());
        List<Resolved> list = resolutions.computeIfAbsent(key(doc.docType(), doc.docId()), k -> new CopyOnWriteArrayList<>());
        if (!list.contains(r)) { // a resolution repeated after its reply was lost is answered the same
            list.add(r);
        }
    }

    /** {@code user}'s resolution of the conflict failed: it was stale (or resolved elsewhere). */
    void refused(String user, ConflictRecord conflict) {
        stale.add(new Stale(user, key(conflict.docType(), conflict.docId()), conflict.conflictId(),
                conflict.serverVersion()));
    }

    int edits() {
        return queued.size();
    }

    /** How many edits were held behind a conflict on their way (for the run's summary). */
    long held() {
        return heard.values().stream().filter(views -> views.stream().anyMatch(v -> v.heldBy().isPresent())).count();
    }

    /** How many edits ended in each final status (for the run's summary). */
    Map<String, Integer> outcomes() {
        Map<String, Integer> counts = new TreeMap<>();
        queued.keySet().forEach(opId -> finalView(opId).ifPresent(v -> counts.merge(describe(v), 1, Integer::sum)));
        return counts;
    }

    /**
     * What disagrees between the reports and the stored documents ({@code docType/docId} to the
     * document as the service API reads it); empty when everything is accounted for.
     */
    List<String> problems(Map<String, JsonNode> stored) {
        List<String> problems = new ArrayList<>();
        Map<String, Map<Long, List<Claim>>> claims = new HashMap<>();
        for (Map.Entry<String, Queued> e : queued.entrySet()) {
            Queued q = e.getValue();
            java.util.Optional<QueuedOp> last = finalView(e.getKey());
            if (last.isEmpty()) {
                problems.add("edit " + e.getKey() + " of " + q.user() + " on " + key(q.docType(), q.docId()) + " ("
                        + q.change().toJson() + ") never reached a final status the app was told; heard: "
                        + heard.getOrDefault(e.getKey(), List.of()).stream().map(EditLedger::describe).toList());
                continue;
            }
            claim(e.getKey(), q, last.get()).ifPresent(c -> claims.computeIfAbsent(key(q.docType(), q.docId()),
                    k -> new TreeMap<>()).computeIfAbsent(last.get().version().orElseThrow(), k -> new ArrayList<>()).add(c));
        }
        resolutions.forEach((doc, list) -> list.forEach(r -> claims.computeIfAbsent(doc, k -> new TreeMap<>())
                .computeIfAbsent(r.version(), k -> new ArrayList<>())
                .add(new Claim(r.user(), "a resolution by " + r.user(), null, Effect.WROTE, r.data(), Set.of(),
                        Set.of()))));
        for (Map.Entry<String, ObjectNode> seed : seeds.entrySet()) {
            String doc = seed.getKey();
            replay(doc, seed.getValue(), claims.getOrDefault(doc, Map.of()), stored.get(doc), problems);
        }
        for (Stale s : stale) {
            // a user's own later edits never make their conflict unresolvable: someone else wrote after it
            Map<Long, List<Claim>> after = new TreeMap<>(claims.getOrDefault(s.doc(), Map.of()));
            after.keySet().removeIf(v -> v <= s.serverVersion());
            boolean byOthers = after.values().stream().flatMap(List::stream)
                    .anyMatch(c -> c.effect() != Effect.KEPT && !c.user().equals(s.user()));
            if (!byOthers) {
                problems.add("conflict " + s.conflictId() + " of " + s.user() + " on " + s.doc() + " (about version "
                        + s.serverVersion() + ") could not be resolved, yet only " + s.user() + " wrote after it: "
                        + after.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue().stream().map(Claim::what)
                        .toList()).toList());
            }
        }
        return problems;
    }

    private java.util.Optional<QueuedOp> finalView(String opId) {
        List<QueuedOp> views = heard.getOrDefault(opId, List.of());
        QueuedOp last = null;
        QueuedOp wrote = null;
        for (QueuedOp v : views) {
            if (v.done()) {
                last = v;
                if (v.status() == OpStatus.APPLIED || v.status() == OpStatus.MERGED) {
                    wrote = v; // a process that ended may have heard the first answer; its successor a duplicate
                }
            }
        }
        return java.util.Optional.ofNullable(last != null && last.status() == OpStatus.DUPLICATE && wrote != null
                ? wrote : last);
    }

    private java.util.Optional<Claim> claim(String opId, Queued q, QueuedOp v) {
        String what = "edit " + opId + " (" + describe(v) + ", " + q.change().toJson() + ")";
        Set<String> changed = fields(q.change());
        Set<String> overlapped = new HashSet<>(v.fields());
        return switch (v.status()) {
            case APPLIED -> java.util.Optional.of(Claim.of(q, what, Effect.WROTE, Set.of(), Set.of()));
            // the first answer is not told: it may have been a merge that lost fields, or met the version
            case DUPLICATE -> java.util.Optional.of(Claim.of(q, what, Effect.MAY_HAVE_WRITTEN, Set.of(), changed));
            case MERGED -> java.util.Optional.of(switch (v.strategy().orElse("merge")) {
                case "server-wins" -> Claim.of(q, what, overlapped.containsAll(changed) ? Effect.KEPT : Effect.WROTE,
                        overlapped, Set.of());
                case "last-write-wins" -> Claim.of(q, what,
                        overlapped.containsAll(changed) ? Effect.MAY_HAVE_WRITTEN : Effect.WROTE, Set.of(), overlapped);
                default -> Claim.of(q, what, Effect.WROTE, Set.of(), Set.of());
            });
            default -> java.util.Optional.empty(); // conflict (its resolution writes), rejected, failed, dismissed
        };
    }

    /** Replays one document's reported writes over its seed and compares with what is stored. */
    private void replay(String doc, ObjectNode seed, Map<Long, List<Claim>> byVersion, JsonNode stored,
                        List<String> problems) {
        if (stored == null) {
            problems.add(doc + " is not stored");
            return;
        }
        Policy policy = policies.get(doc.substring(0, doc.indexOf('/')));
        long top = stored.path("version").asLong();
        Map<String, Set<String>> state = exactly(seed);
        for (long v = 2; v <= top; v++) {
            String where = doc + " version " + v;
            List<Claim> claims = byVersion.getOrDefault(v, List.of());
            List<Claim> wrote = claims.stream().filter(c -> c.effect() == Effect.WROTE).toList();
            List<Claim> may = claims.stream().filter(c -> c.effect() == Effect.MAY_HAVE_WRITTEN).toList();
            if (wrote.size() > 1) {
                problems.add(doc + " version " + v + " is claimed by several writes: " + wrote.stream().map(Claim::what).toList());
            } else if (wrote.size() == 1) {
                apply(state, wrote.getFirst(), true, where, problems);
            } else if (may.size() == 1) {
                apply(state, may.getFirst(), true, where, problems); // the only one that can have
            } else if (!may.isEmpty() && policy != Policy.COUNTER) {
                // one of them wrote it, the others met it; counter edits cannot be told apart so
                may.forEach(c -> apply(state, c, false, where, problems));
            } else if (may.isEmpty()) {
                problems.add(doc + " version " + v + " was written, but no edit or resolution was reported to have "
                        + "written it (claims: " + claims.stream().map(Claim::what).toList() + ")");
            } else {
                problems.add(doc + " version " + v + " is claimed by several replayed counter edits: "
                        + may.stream().map(Claim::what).toList());
            }
        }
        byVersion.keySet().stream().filter(v -> v > top).forEach(v -> problems.add(doc + " is at version " + top
                + " but version " + v + " was reported: " + byVersion.get(v).stream().map(Claim::what).toList()));
        ObjectNode data = (ObjectNode) stored.path("data");
        Set<String> names = new HashSet<>(state.keySet());
        data.fieldNames().forEachRemaining(names::add);
        for (String f : names) {
            String value = norm(data.get(f));
            Set<String> allowed = state.getOrDefault(f, Set.of(ABSENT));
            if (!allowed.contains(value)) {
                problems.add(doc + " field " + f + " is " + value + " (version " + top + "), but the reports imply "
                        + allowed);
            }
        }
    }

    /** Applies one claimed write; {@code wrote}: it certainly wrote the version (else it may have). */
    private static void apply(Map<String, Set<String>> state, Claim c, boolean wrote, String where,
                              List<String> problems) {
        if (c.data() != null) {
            state.clear();
            state.putAll(exactly(c.data()));
            return;
        }
        DocChange.Patch p = c.change();
        p.set().properties().forEach(e -> {
            String f = e.getKey();
            if (c.skipped().contains(f)) {
                return;
            }
            if (wrote && !c.contested().contains(f)) {
                state.put(f, new HashSet<>(Set.of(norm(e.getValue()))));
            } else {
                // which side won this field is not in the report: either value may be stored
                state.computeIfAbsent(f, k -> new HashSet<>(Set.of(ABSENT))).add(norm(e.getValue()));
            }
        });
        p.unset().forEach(f -> state.put(f, new HashSet<>(Set.of(ABSENT))));
        p.inc().forEach((f, delta) -> {
            Set<String> now = state.getOrDefault(f, Set.of("0"));
            if (!wrote || now.size() != 1 || now.contains(ABSENT)) {
                problems.add(where + ": the counter " + f + " cannot be followed exactly through " + c.what() + ": " + now);
                return;
            }
            BigDecimal sum = new BigDecimal(now.iterator().next()).add(new BigDecimal(delta.toString()));
            state.put(f, new HashSet<>(Set.of(sum.stripTrailingZeros().toPlainString())));
        });
    }

    private static Map<String, Set<String>> exactly(ObjectNode data) {
        Map<String, Set<String>> state = new HashMap<>();
        data.properties().forEach(e -> state.put(e.getKey(), new HashSet<>(Set.of(norm(e.getValue())))));
        return state;
    }

    private static Set<String> fields(DocChange.Patch p) {
        Set<String> f = new HashSet<>(p.inc().keySet());
        p.set().fieldNames().forEachRemaining(f::add);
        f.addAll(p.unset());
        return f;
    }

    private static String norm(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return ABSENT;
        }
        return v.isNumber() ? v.decimalValue().stripTrailingZeros().toPlainString() : v.toString();
    }

    private static String describe(QueuedOp v) {
        String s = v.status().wire() + (v.done() ? "(done)" : "");
        if (v.status() == OpStatus.CONFLICT && v.done()) {
            s = v.resolution().map(r -> "resolved " + r.wire()).orElse("conflict given up");
        }
        if (v.status() == OpStatus.MERGED) {
            s += " " + v.strategy().orElse("?") + v.fields();
        }
        return v.heldBy().map(h -> "held ").orElse("") + s;
    }

    private static String key(String docType, String docId) {
        return docType + "/" + docId;
    }
}
