package dev.tandem.it.client;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.client.ConflictRecord;
import dev.tandem.client.Doc;
import dev.tandem.client.DocChange;
import dev.tandem.client.Documents;
import dev.tandem.client.OpStatus;
import dev.tandem.client.QueuedOp;
import dev.tandem.client.Resolution;
import dev.tandem.client.TandemClientException;
import dev.tandem.protocol.ErrorCode;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Generated offline editing against a real gateway (in process, every user behind a network of
 * their own): seeded random sequences of online and offline edits by three users on documents
 * of every policy (counter deltas with an invariant, merge with last-write-wins, server-wins,
 * client-wins, manual), with networks going down and back, lost {@code sync} replies, client
 * restarts that reload the journal, resolutions and dismissals. After each run every edit must
 * have reached a final status its application was told, and the stored documents must be what
 * those statuses and the resolutions imply ({@link EditLedger}).
 *
 * <p>The seed is printed; {@code -Dtandem.offline.seed=N} replays a run ({@code
 * -Dtandem.offline.runs} and {@code -Dtandem.offline.steps} size it: 5 runs of 800 steps by
 * default, about half a minute on two cores).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GeneratedOfflineEditingTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final Map<String, EditLedger.Policy> TYPES = new LinkedHashMap<>(Map.of(
            "tally", EditLedger.Policy.COUNTER, "memo", EditLedger.Policy.LAST_WRITE_WINS,
            "ledger", EditLedger.Policy.SERVER_WINS, "draft", EditLedger.Policy.CLIENT_WINS,
            "price", EditLedger.Policy.MANUAL));
    private static final List<String> FIELDS = List.of("a", "b", "c");
    private static final List<String> USERS = List.of("alice", "bob", "carol");

    private ProxiedGateway node;

    @TempDir
    Path dir;

    @BeforeAll
    void start() throws Exception {
        Map<String, String> settings = new HashMap<>(Map.of(
                "tandem.documents.db.url", "jdbc:h2:mem:generated-offline-editing;DB_CLOSE_DELAY=-1",
                "tandem.documents.types.tally.counters.0", "qty",
                "tandem.documents.types.tally.invariants.0", "qty >= 0",
                "tandem.documents.types.ledger.strategy", "server-wins",
                "tandem.documents.types.draft.strategy", "client-wins",
                "tandem.documents.types.price.strategy", "manual",
                // the scenario edits faster than people do: the budgets are not under test here
                "tandem.limits.messages-per-second", "100000",
                "tandem.limits.burst", "100000",
                "tandem.limits.document-ops-per-second", "100000",
                // a socket cut while the JDK's WebSocket is not reading can go unnoticed until the
                // client's liveness ping: probe after one quiet second, not the default 25
                "tandem.limits.heartbeat-interval", "PT1S"));
        settings.put("tandem.limits.document-ops-burst", "100000");
        node = ProxiedGateway.start(settings);
    }

    @AfterAll
    void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void everyEditEndsInAStatusTheAppWasToldAndTheDocumentsAreWhatTheStatusesSay() throws Exception {
        long seed = Long.getLong("tandem.offline.seed", new Random().nextLong());
        int runs = Integer.getInteger("tandem.offline.runs", 5);
        int steps = Integer.getInteger("tandem.offline.steps", 800);
        System.out.println("GeneratedOfflineEditingTest: seed " + seed + " (replay with -Dtandem.offline.seed=" + seed
                + "), " + runs + " runs of " + steps + " steps");
        for (int run = 0; run < runs; run++) {
            long runSeed = seed + run;
            Scenario s = new Scenario(runSeed, dir.resolve("run-" + run));
            List<String> problems = s.play(steps);
            System.out.println("run " + run + " (seed " + runSeed + "): " + s.ledger.edits() + " edits ("
                    + s.ledger.held() + " held on the way), " + s.resolved + " resolutions, " + s.restarts
                    + " restarts; outcomes " + s.ledger.outcomes());
            assertEquals(List.of(), problems, "run " + run + ": replay with -Dtandem.offline.seed=" + runSeed
                    + " -Dtandem.offline.runs=1 -Dtandem.offline.steps=" + steps);
        }
    }

    /** One run: a tenant of its own, its documents, three users, the steps, then everything settles. */
    private final class Scenario {
        final Random random;
        final TestUsers users = new TestUsers("gen-" + UUID.randomUUID().toString().substring(0, 8),
                node.gateway().port());
        final EditLedger ledger = new EditLedger(TYPES);
        final List<SimUser> people = new ArrayList<>();
        final List<String[]> docs = new ArrayList<>();
        final Path journals;
        int values;
        int resolved;
        int restarts;

        Scenario(long seed, Path journals) {
            this.random = new Random(seed);
            this.journals = journals;
        }

        List<String> play(int steps) throws Exception {
            seed();
            java.nio.file.Files.createDirectories(journals);
            try {
                for (String name : USERS) {
                    people.add(new SimUser(name, users, node.gateway().port(), journals.resolve(name + ".journal"),
                            ledger.listener()));
                }
                for (int i = 0; i < steps; i++) {
                    step(people.get(random.nextInt(people.size())));
                }
                settle();
                Map<String, JsonNode> stored = new HashMap<>();
                for (String[] d : docs) {
                    stored.put(d[0] + "/" + d[1], users.document(d[0], d[1]));
                }
                return ledger.problems(stored);
            } finally {
                people.forEach(SimUser::close);
            }
        }

        /** Two documents of every type, created by the backend (version 1). */
        private void seed() throws Exception {
            ArrayNode ops = JSON.arrayNode();
            for (String type : TYPES.keySet()) {
                for (int i = 1; i <= 2; i++) {
                    String id = type + "-" + i;
                    ObjectNode data = TYPES.get(type) == EditLedger.Policy.COUNTER ? JSON.objectNode().put("qty", 4)
                            : JSON.objectNode().put("a", "seed").put("b", "seed").put("c", "seed");
                    ops.addObject().put("docType", type).put("docId", id).put("baseVersion", 0).put("opId", "seed-" + id)
                            .set("data", data);
                    ledger.seeded(type, id, data);
                    docs.add(new String[] {type, id});
                }
            }
            users.rest("POST", "/api/v1/sync", new ObjectMapper().writeValueAsString(JSON.objectNode().set("ops", ops)));
        }

        private void step(SimUser u) throws Exception {
            int dice = random.nextInt(100);
            if (dice < 55) {
                edit(u);
            } else if (dice < 65) {
                if (u.isOnline()) {
                    u.goOffline();
                } else {
                    u.goOnline();
                }
            } else if (dice < 68) {
                u.restart();
                restarts++;
            } else if (dice < 78) {
                List<QueuedOp> conflicted = u.docs().ops().stream().filter(o -> o.status() == OpStatus.CONFLICT).toList();
                if (u.isOnline() && !conflicted.isEmpty()) {
                    resolve(u, conflicted.get(random.nextInt(conflicted.size())).conflictId().orElseThrow());
                }
            } else if (dice < 81) {
                if (u.isOnline()) {
                    u.loseNextSyncReply();
                }
            } else if (dice < 86) {
                if (u.isOnline()) {
                    String[] d = docs.get(random.nextInt(docs.size()));
                    try {
                        u.docs().get(d[0], d[1]).get(30, TimeUnit.SECONDS); // the app looks at a document
                    } catch (java.util.concurrent.ExecutionException e) {
                        // the connection was being cut: a read only
                    }
                }
            } else if (dice < 88) {
                giveUp(u);
            } else {
                Thread.sleep(random.nextInt(15));
            }
        }

        private void edit(SimUser u) throws Exception {
            String[] d = docs.get(random.nextInt(docs.size()));
            DocChange change;
            if (TYPES.get(d[0]) == EditLedger.Policy.COUNTER) {
                int delta = random.nextInt(3) + 1;
                change = DocChange.inc("qty", random.nextInt(3) == 0 ? -delta * 2 : delta);
            } else {
                ObjectNode set = JSON.objectNode();
                int n = 1 + random.nextInt(2);
                for (int i = 0; i < n; i++) {
                    set.put(FIELDS.get(random.nextInt(FIELDS.size())), u.name + "-" + (++values));
                }
                change = DocChange.patch(set, List.of(), Map.of());
            }
            ledger.queued(u.name, u.docs().update(d[0], d[1], change).get(10, TimeUnit.SECONDS));
        }

        /** Resolves a conflict of the user's as a person would: their side, the server's, or merged data. */
        private void resolve(SimUser u, String conflictId) throws Exception {
            u.keepReplies(); // its answer says what was written
            u.awaitConnected();
            Documents docs = u.docs();
            Optional<ConflictRecord> record = docs.conflicts().stream().filter(c -> c.conflictId().equals(conflictId))
                    .findFirst();
            int kind = random.nextInt(3);
            Resolution resolution = kind == 0 ? Resolution.ACCEPT_LOCAL : kind == 1 || record.isEmpty()
                    ? Resolution.ACCEPT_SERVER : Resolution.MERGE;
            Optional<com.fasterxml.jackson.databind.JsonNode> data = resolution == Resolution.MERGE
                    ? Optional.of(record.orElseThrow().local().deepCopy().put("a", u.name + "-merged-" + (++values)))
                    : Optional.empty();
            for (int attempt = 1; ; attempt++) {
                try {
                    Doc doc = docs.resolve(conflictId, resolution, data).get(15, TimeUnit.SECONDS);
                    ledger.resolved(u.name, doc);
                    resolved++;
                    return;
                } catch (java.util.concurrent.ExecutionException e) {
                    Optional<ErrorCode> code = e.getCause() instanceof TandemClientException t ? t.code() : Optional.empty();
                    if (code.equals(Optional.of(ErrorCode.CONFLICT)) || code.equals(Optional.of(ErrorCode.NOT_FOUND))) {
                        // stale: the client let the edit go and told the app
                        record.ifPresent(c -> ledger.refused(u.name, c));
                        return;
                    }
                    if (attempt == 5 || code.isPresent() && !code.get().isTransient()) {
                        throw e;
                    }
                    // the answer was lost with the connection: the same resolution again answers it
                    u.awaitConnected();
                }
            }
        }

        /** The app gives an edit up: a rejected or failed one it showed, now and then a conflict. */
        private void giveUp(SimUser u) throws Exception {
            for (QueuedOp op : u.docs().ops()) {
                boolean refused = op.status() == OpStatus.REJECTED || op.status() == OpStatus.FAILED;
                if (refused || op.status() == OpStatus.CONFLICT && random.nextInt(4) == 0) {
                    u.docs().dismiss(op.opId()).get(5, TimeUnit.SECONDS);
                    return;
                }
            }
        }

        /** Everyone comes online; conflicts are resolved and refusals dismissed until every queue is empty. */
        private void settle() throws Exception {
            for (SimUser u : people) {
                u.goOnline();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            Map<String, Integer> heldRounds = new HashMap<>();
            while (true) {
                List<QueuedOp> left = new ArrayList<>();
                for (SimUser u : people) {
                    u.awaitConnected();
                    for (QueuedOp op : u.docs().ops()) {
                        left.add(op);
                        switch (op.status()) {
                            case CONFLICT -> resolve(u, op.conflictId().orElseThrow());
                            case REJECTED, FAILED -> u.docs().dismiss(op.opId()).get(5, TimeUnit.SECONDS);
                            default -> {
                                String held = op.heldBy().orElse(null);
                                // a conflict this client holds no edit of (resolved elsewhere, say) is asked directly
                                if (held != null && heldRounds.merge(op.opId(), 1, Integer::sum) > 20) {
                                    resolve(u, held);
                                }
                            }
                        }
                    }
                }
                if (left.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the queues did not settle: " + left);
                }

                Thread.sleep(50);
            }
        }
    }
}
