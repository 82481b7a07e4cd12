package dev.tandem.conflict;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Strategy;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The merge rules without a database, including property-style checks: the same operations in
 * any order (with any stale bases) end in the same state wherever the policy promises that.
 */
class MergerTest {
    private static final DocRef REF = new DocRef("stock_level", "A-1");
    private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
    private static final Policy COUNTERS = new Policy(true, Strategy.MANUAL, Set.of("quantity", "reserved"),
            List.of(Invariant.parse("quantity >= 0")), List.of());

    @Test
    void incDeltasInAnyOrderWithAnyBaseEndAtTheirSum() {
        Random random = new Random(42);
        for (int run = 0; run < 300; run++) {
            List<DocOp> ops = new ArrayList<>();
            BigDecimal sum = BigDecimal.ZERO;
            BigDecimal reservedSum = BigDecimal.ZERO;
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) {
                // integers and exact decimals: no floating point drift either way
                BigDecimal d = random.nextBoolean() ? BigDecimal.valueOf(random.nextInt(50))
                        : new BigDecimal(random.nextInt(1000)).movePointLeft(2);
                BigDecimal r = BigDecimal.valueOf(random.nextInt(7) - 3);
                sum = sum.add(d);
                reservedSum = reservedSum.add(r);
                ops.add(new DocOp(REF, 0, "c" + random.nextInt(3) + ":" + (i + 1),
                        Edit.Patch.inc(Map.of("quantity", d, "reserved", r))));
            }
            Sim expected = null;
            for (int order = 0; order < 4; order++) {
                List<DocOp> shuffled = new ArrayList<>(ops);
                Collections.shuffle(shuffled, random);
                Sim sim = new Sim(COUNTERS, random);
                sim.create(Json.object().put("quantity", 1000).put("reserved", 0));
                shuffled.forEach(sim::applyWithRandomBase);
                assertEquals(0, sim.data().get("quantity").decimalValue().compareTo(sum.add(BigDecimal.valueOf(1000))),
                        "run " + run + " order " + order);
                assertEquals(0, sim.data().get("reserved").decimalValue().compareTo(reservedSum));
                if (expected != null) {
                    assertTrue(Json.same(expected.data(), sim.data()));
                }
                expected = sim;
            }
        }
    }

    @Test
    void disjointFieldChangesInAnyOrderEndInTheSameState() {
        Random random = new Random(7);
        Policy policy = new Policy(true, Strategy.MANUAL, Set.of(), List.of(), List.of());
        for (int run = 0; run < 200; run++) {
            // each client owns one field, so no two clients overlap
            List<DocOp> ops = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                int client = random.nextInt(4);
                ops.add(new DocOp(REF, 0, "c" + client + ":" + (i + 1),
                        Edit.Patch.set(Map.of("f" + client, Json.NODES.numberNode(i)))));
            }
            ObjectNode first = null;
            for (int order = 0; order < 3; order++) {
                // the order within a client is its queue's order; clients interleave at random
                List<DocOp> interleaved = interleave(ops, random);
                Sim sim = new Sim(policy, random);
                sim.create(Json.object());
                interleaved.forEach(sim::applyWithRandomBase);
                assertTrue(sim.conflicts == 0, "no conflict among disjoint fields");
                if (first != null) {
                    assertEquals(first, sim.data(), "run " + run);
                }
                first = sim.data();
            }
        }
    }

    @Test
    void anOpAtTheCurrentVersionAppliesAsItIs() {
        Merger.Current cur = current(3, obj("a", 1));
        var d = decide(Policy.DEFAULT, cur, List.of(), op(3, "x:1", Edit.Patch.set(Map.of("b", Json.NODES.numberNode(2)))));
        assertEquals(obj("a", 1, "b", 2), assertInstanceOf(Merger.Decision.Apply.class, d).data());
    }

    @Test
    void aMissingMergeBaseMakesEveryChangedFieldOverlap() {
        Policy manual = new Policy(true, Strategy.MANUAL, Set.of(), List.of(), List.of());
        Merger.Current cur = current(5, obj("a", 1, "b", 1));
        // versions 2..5 were pruned: what others changed is unknown, so nothing merges silently
        var d = decide(manual, cur, List.of(), op(2, "x:1", Edit.Patch.set(Map.of("b", Json.NODES.numberNode(9)))));
        assertEquals(List.of("b"), assertInstanceOf(Merger.Decision.Hold.class, d).fields());
        // ... except values that already agree, and counters
        var same = decide(manual, cur, List.of(), op(2, "x:2", Edit.Patch.set(Map.of("b", Json.NODES.numberNode(1)))));
        assertEquals(Strategy.MERGE, assertInstanceOf(Merger.Decision.Merge.class, same).strategy());
    }

    @Test
    void lastWriteWinsComparesReceiveTimesAndBreaksTiesByOpId() {
        Merger.Current cur = new Merger.Current(2, obj("a", 2), false, T0.plusSeconds(10), Optional.of("m:5"), "mia");
        List<Merger.Version> history = List.of(version(1, obj("a", 1), "c:x", T0), version(2, obj("a", 2), "c:m", T0.plusSeconds(10)));
        DocOp later = op(1, "z:1", Edit.Patch.set(Map.of("a", Json.NODES.numberNode(3))));
        var won = Merger.decide(Policy.DEFAULT, Optional.of(cur), history, later, "c:z", T0.plusSeconds(11));
        assertEquals(obj("a", 3), assertInstanceOf(Merger.Decision.Merge.class, won).data());
        var lost = Merger.decide(Policy.DEFAULT, Optional.of(cur), history, later, "c:z", T0.plusSeconds(9));
        assertEquals(Strategy.LAST_WRITE_WINS, assertInstanceOf(Merger.Decision.Keep.class, lost).strategy());
        // a tie: the larger opId wins, on every node
        var tieWon = Merger.decide(Policy.DEFAULT, Optional.of(cur), history, later, "c:z", T0.plusSeconds(10));
        assertInstanceOf(Merger.Decision.Merge.class, tieWon);
        DocOp smaller = op(1, "a:1", Edit.Patch.set(Map.of("a", Json.NODES.numberNode(3))));
        var tieLost = Merger.decide(Policy.DEFAULT, Optional.of(cur), history, smaller, "c:a", T0.plusSeconds(10));
        assertInstanceOf(Merger.Decision.Keep.class, tieLost);
    }

    @Test
    void invariantsRejectAndAreRecordedButOnlyForFieldsTheChangeTouches() {
        Merger.Current cur = current(1, obj("quantity", 2, "note", "x"));
        var oversell = decide(COUNTERS, cur, List.of(), op(1, "x:1", Edit.Patch.inc(Map.of("quantity", BigDecimal.valueOf(-3)))));
        Merger.Decision.Reject r = assertInstanceOf(Merger.Decision.Reject.class, oversell);
        assertEquals(OpResult.Rejected.CONSTRAINT, r.code());
        assertTrue(r.recorded());
        // a document already breaking a rule (stored before the rule) can still be edited elsewhere
        Merger.Current broken = current(1, obj("quantity", -5, "note", "x"));
        var edit = decide(COUNTERS, broken, List.of(), op(1, "x:2", Edit.Patch.set(Map.of("note", Json.NODES.textNode("y")))));
        assertInstanceOf(Merger.Decision.Apply.class, edit);
        var text = decide(COUNTERS, cur, List.of(), op(1, "x:3", Edit.Patch.set(Map.of("quantity", Json.NODES.textNode("many")))));
        assertEquals(OpResult.Rejected.CONSTRAINT, assertInstanceOf(Merger.Decision.Reject.class, text).code());
    }

    @Test
    void incOfANonNumberIsABadRequestThatIsNotRecorded() {
        var d = decide(COUNTERS, current(1, obj("quantity", "lots")), List.of(),
                op(1, "x:1", Edit.Patch.inc(Map.of("quantity", BigDecimal.ONE))));
        Merger.Decision.Reject r = assertInstanceOf(Merger.Decision.Reject.class, d);
        assertEquals(OpResult.Rejected.BAD_REQUEST, r.code());
        assertTrue(!r.recorded());
    }

    @Test
    void aStaleDeleteFollowsTheStrategyOverWhatOthersChanged() {
        List<Merger.Version> history = List.of(version(1, obj("a", 1), "c:x", T0), version(2, obj("a", 2), "c:y", T0));
        Merger.Current cur = current(2, obj("a", 2));
        DocOp delete = op(1, "x:2", new Edit.Delete());
        Policy sw = new Policy(true, Strategy.SERVER_WINS, Set.of(), List.of(), List.of());
        assertInstanceOf(Merger.Decision.Keep.class, Merger.decide(sw, Optional.of(cur), history, delete, "c:x", T0));
        Policy manual = new Policy(true, Strategy.MANUAL, Set.of(), List.of(), List.of());
        Merger.Decision.Hold hold = assertInstanceOf(Merger.Decision.Hold.class,
                Merger.decide(manual, Optional.of(cur), history, delete, "c:x", T0));
        assertTrue(hold.local().isNull(), "the author's side of a delete conflict is no data");
        // nobody else touched it since the base: the delete simply applies
        List<Merger.Version> own = List.of(version(1, obj("a", 1), "c:x", T0), version(2, obj("a", 2), "c:x", T0));
        Merger.Decision.Merge m = assertInstanceOf(Merger.Decision.Merge.class,
                Merger.decide(manual, Optional.of(cur), own, delete, "c:x", T0));
        assertTrue(m.deleted());
    }

    @Test
    void decimalsStayExact() {
        Merger.Current cur = current(1, obj("quantity", 0));
        Policy p = new Policy(true, Strategy.MANUAL, Set.of("quantity"), List.of(), List.of());
        ObjectNode data = cur.data();
        for (int i = 0; i < 10; i++) {
            var d = decide(p, current(1, data), List.of(), op(1, "x:" + (i + 1), Edit.Patch.inc(Map.of("quantity", new BigDecimal("0.1")))));
            data = assertInstanceOf(Merger.Decision.Apply.class, d).data();
        }
        assertEquals("1", data.get("quantity").decimalValue().stripTrailingZeros().toPlainString());
        assertTrue(data.get("quantity").isIntegralNumber(), "an integral result is stored as an integer");
    }

    // ------------------------------------------------------------------ an in-memory store

    /** Applies decisions like the store does, keeping the history that merges need. */
    private static final class Sim {
        private final Policy policy;
        private final Random random;
        private final List<Merger.Version> history = new ArrayList<>();
        private Merger.Current head;
        private int conflicts;
        private long clock;

        Sim(Policy policy, Random random) {
            this.policy = policy;
            this.random = random;
        }

        void create(ObjectNode data) {
            write(data, "setup");
        }

        ObjectNode data() {
            return head.data();
        }

        /** Applies the op as if its author had last seen a random earlier version. */
        void applyWithRandomBase(DocOp op) {
            long base = 1 + (long) random.nextInt((int) head.version());
            DocOp rebased = new DocOp(op.ref(), base, op.opId(), op.edit());
            String origin = "c:" + op.source().orElseThrow().clientId();
            Merger.Decision d = Merger.decide(policy, Optional.of(head), List.copyOf(history), rebased, origin,
                    T0.plusSeconds(++clock));
            switch (d) {
                case Merger.Decision.Apply a -> write(a.data(), origin);
                case Merger.Decision.Merge m -> write(m.data(), origin);
                case Merger.Decision.Hold h -> conflicts++;
                case Merger.Decision.Keep k -> {
                }
                case Merger.Decision.Reject r -> throw new AssertionError(r.reason());
            }
        }

        private void write(ObjectNode data, String origin) {
            long version = head == null ? 1 : head.version() + 1;
            Instant at = T0.plusSeconds(++clock);
            head = new Merger.Current(version, data, false, at, Optional.of(origin + version), "user-" + origin);
            history.add(new Merger.Version(version, data, false, origin, Optional.of(origin + version), at, "user-" + origin));
        }
    }

    private static List<DocOp> interleave(List<DocOp> ops, Random random) {
        Map<String, List<DocOp>> queues = new java.util.TreeMap<>();
        ops.forEach(op -> queues.computeIfAbsent(op.source().orElseThrow().clientId(), k -> new ArrayList<>()).add(op));
        List<DocOp> result = new ArrayList<>();
        List<List<DocOp>> pending = new ArrayList<>();
        queues.values().forEach(q -> pending.add(new ArrayList<>(q)));
        while (!pending.isEmpty()) {
            List<DocOp> q = pending.get(random.nextInt(pending.size()));
            result.add(q.removeFirst());
            if (q.isEmpty()) {
                pending.remove(q);
            }
        }
        return result;
    }

    private static Merger.Decision decide(Policy p, Merger.Current cur, List<Merger.Version> history, DocOp op) {
        return Merger.decide(p, Optional.of(cur), history, op, "c:" + op.source().orElseThrow().clientId(), T0);
    }

    private static Merger.Current current(long version, ObjectNode data) {
        return new Merger.Current(version, data, false, T0, Optional.empty(), "someone");
    }

    private static Merger.Version version(long v, ObjectNode data, String origin, Instant at) {
        return new Merger.Version(v, data, false, origin, Optional.of(origin + ":" + v), at, "user-" + origin);
    }

    private static DocOp op(long base, String opId, Edit edit) {
        return new DocOp(REF, base, opId, edit);
    }

    private static ObjectNode obj(Object... kv) {
        ObjectNode o = Json.object();
        for (int i = 0; i < kv.length; i += 2) {
            JsonNode v = kv[i + 1] instanceof Integer n ? Json.NODES.numberNode(n) : Json.NODES.textNode((String) kv[i + 1]);
            o.set((String) kv[i], v);
        }
        return o;
    }
}
