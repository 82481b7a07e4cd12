package dev.tandem.conflict;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.Strategy;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;
import org.flywaydb.core.Flyway;

/**
 * The {@link Documents} adapter on a relational database through helidon-dbclient-jdbc: an
 * embedded H2 file database by default (standalone, nothing to install), PostgreSQL when the
 * URL says so (cluster: every node shares it). The schema is migrated by Flyway at start
 * ({@code db/migration/h2} or {@code db/migration/postgresql}).
 *
 * <p>Each operation is one transaction that locks the document's row ({@code SELECT ... FOR
 * UPDATE}), decides with the type's policy, and writes the new version (guarded by {@code
 * UPDATE ... WHERE version = ?}), its history entry, the applied opId, the client's sequence,
 * the audit entry of a merge and an outbox row, or nothing at all. Writers that collide (two
 * creators, a lock timeout, a serialization failure) roll back and run again against the newer
 * version, so no interleaving loses an update; a replayed opId is found in the same transaction
 * and answered as a duplicate. Listeners run after the commit.
 *
 * <p>Configuration (the documents node, e.g. {@code tandem.documents}): {@code db.url}
 * ({@value Settings#DEFAULT_URL}), {@code db.username}, {@code db.password}, {@code db.schema}
 * (PostgreSQL), {@code db.pool.*} (Hikari properties), {@code max-document-bytes} (262144),
 * {@code keep-versions} (100), {@code op-retention} (P30D), {@code prune-interval} (PT1H, PT0S
 * for none), {@code max-attempts} (100) and {@code types.*} (the policies, see
 * {@link dev.tandem.document}).
 *
 * <p>Thread-safe; blocking (call it from virtual threads).
 */
public final class DocumentStore implements Documents {
    private static final System.Logger LOGGER = System.getLogger(DocumentStore.class.getName());

    private final Settings settings;
    private final Policies policies;
    private final Clock clock;
    private volatile boolean outboxOn = true;
    private final DbClient db;
    private final Sql sql;
    private final List<DocumentListener> listeners = new CopyOnWriteArrayList<>();
    private final Optional<ScheduledExecutorService> pruner;

    private DocumentStore(Settings settings, Policies policies, Clock clock) {
        this.settings = settings;
        this.policies = policies;
        this.clock = clock;
        this.sql = new Sql(settings.postgres());
        migrate(settings);
        this.db = DbClient.create(dbConfig(settings));
        if (settings.pruneInterval().isZero() || settings.pruneInterval().isNegative()) {
            this.pruner = Optional.empty();
        } else {
            ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tandem-documents-prune");
                t.setDaemon(true);
                return t;
            });
            long every = settings.pruneInterval().toMillis();
            s.scheduleWithFixedDelay(this::pruneQuietly, every, every, TimeUnit.MILLISECONDS);
            this.pruner = Optional.of(s);
        }
    }

    /**
     * Opens the store described by the documents node (see the class description), migrating
     * the schema first.
     *
     * @throws IllegalArgumentException for an invalid setting or policy
     */
    public static DocumentStore create(Config config) {
        return create(config, Clock.systemUTC());
    }

    /** Like {@link #create(Config)}, with the clock that stamps versions (tests). */
    public static DocumentStore create(Config config, Clock clock) {
        return new DocumentStore(Settings.create(config), Policies.create(config.get("types")), clock);
    }

    /**
     * Like {@link #create(Config)}, with the database settings ({@code url}, {@code username},
     * {@code password}, {@code schema}, {@code pool.*}) taken from {@code db} instead of the
     * documents node's {@code db} (the gateway's shared {@code tandem.db}).
     */
    public static DocumentStore create(Config config, Config db) {
        return new DocumentStore(Settings.create(config, db), Policies.create(config.get("types")), Clock.systemUTC());
    }

    private static void migrate(Settings s) {
        var flyway = Flyway.configure()
                .dataSource(s.url(), s.username(), s.password())
                .locations(s.postgres() ? "classpath:db/migration/postgresql" : "classpath:db/migration/h2");
        s.schema().ifPresent(flyway::schemas);
        flyway.load().migrate();
    }

    private static Config dbConfig(Settings s) {
        Map<String, String> m = new HashMap<>();
        m.put("source", "jdbc");
        m.put("connection.url", s.url());
        m.put("connection.username", s.username());
        m.put("connection.password", s.password());
        s.schema().ifPresent(schema -> m.put("connection.schema", schema));
        s.pool().forEach((k, v) -> m.put("connection." + k, v));
        return Config.just(ConfigSources.create(m));
    }

    // ------------------------------------------------------------------ reads

    @Override
    public Optional<Document> get(Principal who, DocRef ref) {
        return guarded(() -> db.execute().createNamedGet("head-get", sql.headGet)
                .params(key(who.tenant(), ref)).execute().map(row -> head(row).document(ref)));
    }

    @Override
    public Optional<ConflictRecord> getConflict(Principal who, String conflictId) {
        return guarded(() -> db.execute().createNamedGet("conflict-get", sql.conflictGet)
                .params(Map.of("tenant", who.tenant(), "cid", conflictId)).execute().map(DocumentStore::conflict));
    }

    @Override
    public List<ConflictRecord> listConflicts(Principal who, ConflictFilter filter) {
        Map<String, Object> p = new HashMap<>();
        p.put("tenant", who.tenant());
        p.put("limit", filter.limit());
        filter.type().ifPresent(t -> p.put("type", t));
        filter.status().ifPresent(s -> p.put("status", s.wire()));
        String stmt = sql.conflictList(filter.type().isPresent(), filter.status().isPresent());
        return guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("conflict-list", stmt).params(p).execute()) {
                return rows.map(DocumentStore::conflict).toList();
            }
        });
    }

    @Override
    public List<AuditEntry> audit(Principal who, DocRef ref, int limit) {
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1-1000");
        }
        Map<String, Object> p = key(who.tenant(), ref);
        p.put("limit", limit);
        List<AuditEntry> newestFirst = guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("audit-list", sql.auditList).params(p).execute()) {
                return rows.map(row -> audit(ref, row)).toList();
            }
        });
        return newestFirst.reversed();
    }

    // ------------------------------------------------------------------ operations

    @Override
    public OpResult apply(Principal who, DocOp op) {
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(op, "op");
        Instant receivedAt = now();
        int size = editSize(op.edit());
        if (size > settings.maxDocumentBytes()) {
            return new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE, "the operation has " + size
                    + " bytes, more than " + settings.maxDocumentBytes());
        }
        Policy policy = policies.of(op.ref().type());
        // writes of one client device never conflict with each other (see Merger)
        String origin = op.source().map(s -> "c:" + s.clientId()).orElse("op:" + op.opId());
        Committed<OpResult> done = retrying("apply " + op.opId(),
                tx -> applyIn(tx, who, op, policy, origin, receivedAt));
        done.notifyListeners(listeners);
        return done.value();
    }

    private Committed<OpResult> applyIn(DbTransaction tx, Principal who, DocOp op, Policy policy, String origin,
                                        Instant at) {
        String tenant = who.tenant();
        DocRef ref = op.ref();
        Optional<Row> seen = tx.createNamedGet("op-seen", sql.opSeen)
                .params(Map.of("tenant", tenant, "op", op.opId())).execute().map(Row::of);
        if (seen.isPresent()) {
            return Committed.of(new OpResult.Duplicate(op.opId(), longOf(seen.get(), "version"),
                    Optional.of(stringOf(seen.get(), "result"))));
        }
        Optional<long[]> sequence = Optional.empty(); // last_seq, pruned_through
        if (op.source().isPresent()) {
            sequence = tx.createNamedGet("sequence-get", sql.sequenceGet)
                    .params(Map.of("tenant", tenant, "client", op.source().get().clientId())).execute()
                    .map(Row::of).map(r -> new long[] {longOf(r, "last_seq"), longOf(r, "pruned_through")});
        }
        Optional<Head> head = tx.createNamedGet("head-lock", sql.headLock).params(key(tenant, ref)).execute()
                .map(DocumentStore::head);
        if (sequence.isPresent() && op.source().get().sequence() <= sequence.get()[1]) {
            // its applied_ops row was pruned: older than the retention, so it was seen before
            return Committed.of(new OpResult.Duplicate(op.opId(), head.map(Head::version).orElse(0L), Optional.empty()));
        }
        List<Merger.Version> history = List.of();
        if (head.isPresent() && !head.get().deleted() && op.baseVersion() < head.get().version()) {
            Map<String, Object> p = key(tenant, ref);
            p.put("from", Math.max(op.baseVersion(), 1));
            try (Stream<DbRow> rows = tx.createNamedQuery("history", sql.history).params(p).execute()) {
                history = rows.map(DocumentStore::version).toList();
            }
        }
        Optional<Merger.Current> current = head.map(h -> new Merger.Current(h.version(), h.data(), h.deleted(),
                h.updatedAt(), h.opId()));
        Merger.Decision decision = Merger.decide(policy, current, history, op, origin, at);
        long currentVersion = head.map(Head::version).orElse(0L);
        ObjectNode currentData = head.map(Head::data).orElse(Json.object());
        switch (decision) {
            case Merger.Decision.Reject r when !r.recorded() -> {
                return Committed.of(new OpResult.Rejected(op.opId(), r.code(), r.reason()));
            }
            case Merger.Decision.Reject r -> {
                audit(tx, tenant, ref, "reject", policy.strategy().wire(), List.of(), who.user(), Optional.of(op.opId()),
                        Optional.empty(), currentVersion, currentVersion, currentData, currentData, r.reason(), at);
                recordOp(tx, tenant, op, sequence, "rejected", currentVersion, at);
                return Committed.of(new OpResult.Rejected(op.opId(), r.code(), r.reason()));
            }
            case Merger.Decision.Apply a -> {
                Optional<String> tooLarge = tooLarge(a.data());
                if (tooLarge.isPresent()) {
                    return Committed.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE, tooLarge.get()));
                }
                Document doc = write(tx, tenant, ref, head, a.data(), a.deleted(), origin, Optional.of(op.opId()),
                        who.user(), at, "applied", List.of(), Optional.empty(), Optional.empty());
                recordOp(tx, tenant, op, sequence, "applied", doc.version(), at);
                return new Committed<>(new OpResult.Applied(op.opId(), doc), Optional.of(change(tenant, policy, doc,
                        DocumentChange.Kind.APPLIED, Optional.of(op.opId()), Optional.empty(), List.of(), Optional.empty())),
                        Optional.empty());
            }
            case Merger.Decision.Merge m -> {
                Optional<String> tooLarge = tooLarge(m.data());
                if (tooLarge.isPresent()) {
                    return Committed.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE, tooLarge.get()));
                }
                Document doc = write(tx, tenant, ref, head, m.data(), m.deleted(), origin, Optional.of(op.opId()),
                        who.user(), at, "merged", m.fields(), Optional.of(m.strategy()), Optional.empty());
                audit(tx, tenant, ref, "merge", m.strategy().wire(), m.fields(), who.user(), Optional.of(op.opId()),
                        Optional.empty(), currentVersion, doc.version(), currentData,
                        m.deleted() ? NullNode.getInstance() : m.data(), "", at);
                recordOp(tx, tenant, op, sequence, "merged", doc.version(), at);
                return new Committed<>(new OpResult.Merged(op.opId(), doc, m.fields(), m.strategy()),
                        Optional.of(change(tenant, policy, doc, DocumentChange.Kind.MERGED, Optional.of(op.opId()),
                                Optional.empty(), m.fields(), Optional.of(m.strategy()))), Optional.empty());
            }
            case Merger.Decision.Keep k -> {
                Head h = head.orElseThrow();
                audit(tx, tenant, ref, "merge", k.strategy().wire(), k.fields(), who.user(), Optional.of(op.opId()),
                        Optional.empty(), currentVersion, currentVersion, currentData, currentData, "", at);
                recordOp(tx, tenant, op, sequence, "merged", currentVersion, at);
                return Committed.of(new OpResult.Merged(op.opId(), h.document(ref), k.fields(), k.strategy()));
            }
            case Merger.Decision.Hold hold -> {
                Head h = head.orElseThrow();
                JsonNode base = op.baseVersion() == 0 ? Json.object() : baseOf(history, op.baseVersion());
                ConflictRecord record = new ConflictRecord("cf-" + UUID.randomUUID(), tenant, ref, op.opId(), who.user(),
                        op.source().map(DocOp.Source::clientId), op.baseVersion(), h.version(), base, h.data(),
                        hold.local(), hold.fields(), ConflictRecord.Status.OPEN, at, Optional.empty());
                Map<String, Object> p = key(tenant, ref);
                p.put("cid", record.id());
                p.put("op", op.opId());
                p.put("author", who.user());
                p.put("client", record.clientId().orElse(null));
                p.put("base_version", record.baseVersion());
                p.put("server_version", record.serverVersion());
                p.put("base_data", Json.write(base));
                p.put("server_data", Json.write(h.data()));
                p.put("local_data", Json.write(hold.local()));
                p.put("fields", Json.write(Json.array(hold.fields())));
                p.put("at", timestamp(at));
                tx.createNamedInsert("conflict-insert", sql.conflictInsert).params(p).execute();
                audit(tx, tenant, ref, "conflict", Strategy.MANUAL.wire(), hold.fields(), who.user(), Optional.of(op.opId()),
                        Optional.of(record.id()), currentVersion, currentVersion, currentData, hold.local(), "", at);
                recordOp(tx, tenant, op, sequence, "conflict", currentVersion, at);
                return new Committed<>(new OpResult.Conflict(op.opId(), record), Optional.empty(), Optional.of(record));
            }
        }
    }

    // ------------------------------------------------------------------ conflicts

    @Override
    public Resolved resolve(Principal who, String conflictId, Resolution resolution) {
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(conflictId, "conflictId");
        Objects.requireNonNull(resolution, "resolution");
        Instant at = now();
        Committed<Object> done = retrying("resolve " + conflictId, tx -> resolveIn(tx, who, conflictId, resolution, at));
        done.notifyListeners(listeners);
        return switch (done.value()) {
            case Resolved r -> r;
            case ProtocolException e -> throw e; // committed: the record was marked stale
            default -> throw new IllegalStateException("unexpected " + done.value());
        };
    }

    private Committed<Object> resolveIn(DbTransaction tx, Principal who, String conflictId, Resolution resolution,
                                        Instant at) {
        String tenant = who.tenant();
        ConflictRecord record = tx.createNamedGet("conflict-lock", sql.conflictLock)
                .params(Map.of("tenant", tenant, "cid", conflictId)).execute().map(DocumentStore::conflict)
                .orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND, "no conflict " + conflictId));
        switch (record.status()) {
            case RESOLVED -> {
                ConflictRecord.Outcome o = record.outcome().orElseThrow();
                throw new ProtocolException(ErrorCode.CONFLICT, "conflict " + conflictId + " is already resolved ("
                        + o.resolution().wire() + " by " + o.by() + " at " + o.at() + ", version " + o.version() + ")");
            }
            case STALE -> throw new ProtocolException(ErrorCode.CONFLICT, "conflict " + conflictId
                    + " is stale: the document changed after it; read the document and edit again");
            case OPEN -> {
                // resolvable below
            }
        }
        DocRef ref = record.ref();
        Optional<Head> head = tx.createNamedGet("head-lock", sql.headLock).params(key(tenant, ref)).execute()
                .map(DocumentStore::head);
        if (head.isEmpty() || head.get().version() != record.serverVersion()) {
            tx.createNamedUpdate("conflict-stale", sql.conflictStale).params(Map.of("cid", conflictId)).execute();
            return Committed.of(new ProtocolException(ErrorCode.CONFLICT, "conflict " + conflictId + " is stale: "
                    + ref + " is at version " + head.map(Head::version).orElse(0L) + ", the conflict was about version "
                    + record.serverVersion() + "; read the document and edit again"));
        }
        Head h = head.get();
        Policy policy = policies.of(ref.type());
        boolean deleted = false;
        ObjectNode data;
        switch (resolution.kind()) {
            case ACCEPT_LOCAL -> {
                deleted = !(record.local() instanceof ObjectNode);
                data = deleted ? Json.object() : ((ObjectNode) record.local()).deepCopy();
            }
            case ACCEPT_SERVER -> {
                if (record.local() instanceof ObjectNode local) {
                    data = local.deepCopy();
                    for (String f : record.fields()) {
                        JsonNode server = h.data().get(f);
                        if (server == null) {
                            data.remove(f);
                        } else {
                            data.set(f, server.deepCopy());
                        }
                    }
                } else {
                    data = h.data().deepCopy(); // the author wanted a delete; the server's data stays
                }
            }
            case MERGE -> data = resolution.data().orElseThrow().deepCopy();
            default -> throw new IllegalStateException("unknown resolution " + resolution.kind());
        }
        if (!deleted) {
            Optional<String> broken = Merger.violation(policy, h.data(), data);
            if (broken.isPresent()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "the resolution breaks an invariant: " + broken.get());
            }
            Optional<String> tooLarge = tooLarge(data);
            if (tooLarge.isPresent()) {
                throw new ProtocolException(ErrorCode.TOO_LARGE, tooLarge.get());
            }
        }
        Document doc = write(tx, tenant, ref, head, data, deleted, "resolve:" + conflictId, Optional.empty(), who.user(),
                at, "resolved", record.fields(), Optional.empty(), Optional.of(resolution.kind().wire()));
        tx.createNamedUpdate("conflict-resolve", sql.conflictResolve).params(Map.of("cid", conflictId,
                "resolution", resolution.kind().wire(), "by", who.user(), "at", timestamp(at),
                "version", doc.version())).execute();
        audit(tx, tenant, ref, "resolve", resolution.kind().wire(), record.fields(), who.user(), Optional.of(record.opId()),
                Optional.of(conflictId), h.version(), doc.version(), h.data(), deleted ? NullNode.getInstance() : data, "", at);
        ConflictRecord resolved = new ConflictRecord(record.id(), record.tenant(), ref, record.opId(), record.author(),
                record.clientId(), record.baseVersion(), record.serverVersion(), record.base(), record.server(),
                record.local(), record.fields(), ConflictRecord.Status.RESOLVED, record.createdAt(),
                Optional.of(new ConflictRecord.Outcome(resolution.kind(), who.user(), at, doc.version())));
        return new Committed<>(new Resolved(doc, resolved), Optional.of(change(tenant, policy, doc,
                DocumentChange.Kind.RESOLVED, Optional.empty(), Optional.of(conflictId), record.fields(), Optional.empty())),
                Optional.empty());
    }

    @Override
    public void listen(DocumentListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    // ------------------------------------------------------------------ pruning

    /**
     * Whether accepted changes are written to the outbox (default: yes). Turn it off where no
     * relay runs (no Kafka), so the table does not grow for nothing.
     */
    public void writeOutbox(boolean on) {
        outboxOn = on;
    }

    @Override
    public OpResult revert(Principal who, DocRef ref, long version, String opId) {
        Optional<Document> current = get(who, ref);
        if (current.isEmpty()) {
            return new OpResult.Rejected(opId, "not_found", "no document " + ref.type() + "/" + ref.id());
        }
        if (current.get().version() != version) {
            return new OpResult.Rejected(opId, "conflict", "the document changed since version " + version
                    + " (now " + current.get().version() + "); nothing was undone");
        }
        if (version == 1) {
            return apply(who, new DocOp(ref, version, opId, new Edit.Delete()));
        }
        Optional<ObjectNode> before = guarded(() -> db.execute().createNamedGet("version-get",
                        "SELECT CAST(data AS VARCHAR) AS data FROM document_versions WHERE tenant = :tenant "
                                + "AND doc_type = :type AND doc_id = :id AND version = :version")
                .params(Map.of("tenant", who.tenant(), "type", ref.type(), "id", ref.id(), "version", version - 1))
                .execute().map(row -> (ObjectNode) Json.parse(row.column(1).get(String.class))));
        if (before.isEmpty()) {
            return new OpResult.Rejected(opId, "not_found", "version " + (version - 1) + " is no longer kept");
        }
        return apply(who, new DocOp(ref, version, opId, new Edit.Replace(before.get())));
    }

    /** Whether the database answers a trivial query (readiness). */
    public boolean reachable() {
        try {
            db.execute().createNamedGet("ping", "SELECT 1").execute();
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The outbox as the Kafka relay reads it. */
    public dev.tandem.kafka.Outbox outbox() {
        return new OutboxTable(db, clock);
    }

    /**
     * Drops what the retention settings no longer require: versions older than the newest
     * {@code keep-versions} of each document, applied opIds older than {@code op-retention} (their
     * client's sequence keeps detecting replays) and relayed outbox rows older than that. Runs
     * every {@code prune-interval} by itself; callable any time.
     *
     * @return the number of rows removed
     */
    public long prune() {
        Instant cutoff = now().minus(settings.opRetention());
        OffsetDateTime c = timestamp(cutoff);
        return guarded(() -> {
            long n = db.execute().createNamedDelete("prune-versions", sql.pruneVersions)
                    .params(Map.of("keep", settings.keepVersions())).execute();
            Committed<Long> ops = inTransaction(tx -> {
                tx.createNamedUpdate("prune-sequences", sql.pruneSequences).params(Map.of("cutoff", c)).execute();
                return Committed.of(tx.createNamedDelete("prune-ops", sql.pruneOps).params(Map.of("cutoff", c)).execute());
            });
            n += ops.value();
            n += db.execute().createNamedDelete("prune-outbox", sql.pruneOutbox).params(Map.of("cutoff", c)).execute();
            return n;
        });
    }

    private void pruneQuietly() {
        try {
            long n = prune();
            LOGGER.log(System.Logger.Level.DEBUG, () -> "pruned " + n + " document rows");
        } catch (RuntimeException e) {
            LOGGER.log(System.Logger.Level.WARNING, "pruning documents failed; will try again", e);
        }
    }

    @Override
    public void close() {
        pruner.ifPresent(ScheduledExecutorService::shutdownNow);
        db.close();
    }

    // ------------------------------------------------------------------ writing

    private Document write(DbTransaction tx, String tenant, DocRef ref, Optional<Head> head, ObjectNode data,
                           boolean deleted, String origin, Optional<String> opId, String by, Instant at, String result,
                           List<String> fields, Optional<Strategy> strategy, Optional<String> resolution) {
        long version = head.map(h -> h.version() + 1).orElse(1L);
        Map<String, Object> p = key(tenant, ref);
        p.put("version", version);
        p.put("data", Json.write(data));
        p.put("deleted", deleted);
        p.put("at", timestamp(at));
        p.put("by", by);
        p.put("op", opId.orElse(null));
        if (head.isEmpty()) {
            tx.createNamedInsert("head-insert", sql.headInsert).params(p).execute();
        } else {
            p.put("expected", head.get().version());
            if (tx.createNamedUpdate("head-update", sql.headUpdate).params(p).execute() != 1) {
                throw new Retry("version moved under the lock");
            }
        }
        p.remove("expected");
        p.put("origin", origin);
        tx.createNamedInsert("version-insert", sql.versionInsert).params(p).execute();
        Document doc = new Document(ref, version, data, at, by, deleted);
        if (outboxOn) {
            outbox(tx, tenant, doc, opId, result, fields, strategy, resolution, at);
        }
        return doc;
    }

    private void recordOp(DbTransaction tx, String tenant, DocOp op, Optional<long[]> sequence, String result,
                          long version, Instant at) {
        Map<String, Object> p = key(tenant, op.ref());
        p.put("op", op.opId());
        p.put("client", op.source().map(DocOp.Source::clientId).orElse(null));
        p.put("seq", op.source().map(DocOp.Source::sequence).orElse(null));
        p.put("result", result);
        p.put("version", version);
        p.put("at", timestamp(at));
        tx.createNamedInsert("op-insert", sql.opInsert).params(p).execute();
        if (op.source().isEmpty()) {
            return;
        }
        DocOp.Source source = op.source().get();
        long last = sequence.map(s -> s[0]).orElse(0L);
        int gap = source.sequence() > last + 1 ? 1 : 0;
        if (gap == 1) {
            // visible in client_sequences.gaps; a lost op of this device never reached the server
            LOGGER.log(System.Logger.Level.INFO, () -> "client " + source.clientId() + " of tenant " + tenant
                    + " skipped from sequence " + last + " to " + source.sequence());
        }
        Map<String, Object> s = new HashMap<>(Map.of("tenant", tenant, "client", source.clientId(),
                "seq", source.sequence(), "gap", gap, "at", timestamp(at)));
        if (sequence.isPresent()) {
            tx.createNamedUpdate("sequence-update", sql.sequenceUpdate).params(s).execute();
        } else {
            tx.createNamedInsert("sequence-insert", sql.sequenceInsert).params(s).execute();
        }
    }

    private void audit(DbTransaction tx, String tenant, DocRef ref, String action, String strategy, List<String> fields,
                       String actor, Optional<String> opId, Optional<String> conflictId, long before, long after,
                       JsonNode beforeData, JsonNode afterData, String reason, Instant at) {
        Map<String, Object> p = key(tenant, ref);
        p.put("action", action);
        p.put("strategy", strategy);
        p.put("fields", Json.write(Json.array(fields)));
        p.put("actor", actor);
        p.put("op", opId.orElse(null));
        p.put("conflict", conflictId.orElse(null));
        p.put("before_version", before);
        p.put("after_version", after);
        p.put("before_data", Json.write(beforeData));
        p.put("after_data", Json.write(afterData));
        p.put("reason", reason.length() > 1000 ? reason.substring(0, 1000) : reason);
        p.put("at", timestamp(at));
        tx.createNamedInsert("audit-insert", sql.auditInsert).params(p).execute();
    }

    /** A CloudEvents 1.0 (structured) record of the change, relayed to Kafka by issue 5's relay. */
    private void outbox(DbTransaction tx, String tenant, Document doc, Optional<String> opId, String result,
                        List<String> fields, Optional<Strategy> strategy, Optional<String> resolution, Instant at) {
        String type = doc.deleted() ? "tandem.document.deleted" : "tandem.document.changed";
        ObjectNode event = Json.object();
        event.put("specversion", "1.0");
        event.put("id", UUID.randomUUID().toString());
        event.put("source", "/tandem/documents");
        event.put("type", type);
        event.put("subject", doc.ref().type() + "/" + doc.ref().id());
        event.put("time", at.toString());
        event.put("datacontenttype", "application/json");
        event.put("tenantid", tenant);
        ObjectNode data = doc.toJson();
        data.put("result", result);
        opId.ifPresent(o -> data.put("opId", o));
        if (!fields.isEmpty()) {
            data.set("fields", Json.array(fields));
        }
        strategy.ifPresent(s -> data.put("strategy", s.wire()));
        resolution.ifPresent(r -> data.put("resolution", r));
        event.set("data", data);
        tx.createNamedInsert("outbox-insert", sql.outboxInsert).params(Map.of("tenant", tenant,
                "key", tenant + "/" + doc.ref().type() + "/" + doc.ref().id(), "type", type,
                "payload", Json.write(event), "at", timestamp(at))).execute();
    }

    private DocumentChange change(String tenant, Policy policy, Document doc, DocumentChange.Kind kind,
                                  Optional<String> opId, Optional<String> conflictId, List<String> fields,
                                  Optional<Strategy> strategy) {
        var channels = new ArrayList<dev.tandem.channel.ChannelName>();
        channels.add(doc.ref().channel());
        policy.channelsFor(doc.data()).stream().filter(c -> !channels.contains(c)).forEach(channels::add);
        return new DocumentChange(tenant, doc, kind, opId, conflictId, fields, strategy, channels);
    }

    private Optional<String> tooLarge(ObjectNode data) {
        int size = Json.write(data).getBytes(StandardCharsets.UTF_8).length;
        return size > settings.maxDocumentBytes()
                ? Optional.of("the document would have " + size + " bytes, more than " + settings.maxDocumentBytes())
                : Optional.empty();
    }

    private static int editSize(Edit edit) {
        JsonNode payload = switch (edit) {
            case Edit.Replace r -> r.data();
            case Edit.Patch p -> {
                ObjectNode o = Json.object();
                ObjectNode set = o.putObject("set");
                p.set().forEach(set::set);
                o.set("unset", Json.array(p.unset()));
                ObjectNode inc = o.putObject("inc");
                p.inc().forEach(inc::put);
                yield o;
            }
            case Edit.Delete d -> Json.object();
        };
        return Json.write(payload).getBytes(StandardCharsets.UTF_8).length;
    }

    // ------------------------------------------------------------------ transactions

    /** A collision with a concurrent writer: run the operation again. */
    private static final class Retry extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Retry(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * What a transaction produced, and what to tell listeners once it is committed.
     */
    private record Committed<T>(T value, Optional<DocumentChange> change, Optional<ConflictRecord> conflict) {
        static <T> Committed<T> of(T value) {
            return new Committed<>(value, Optional.empty(), Optional.empty());
        }

        void notifyListeners(List<DocumentListener> listeners) {
            for (DocumentListener l : listeners) {
                try {
                    change.ifPresent(l::changed);
                    conflict.ifPresent(l::conflicted);
                } catch (RuntimeException e) {
                    LOGGER.log(System.Logger.Level.WARNING, "a document listener failed", e);
                }
            }
        }
    }

    /** Runs the work in transactions until one commits without colliding, with jittered backoff. */
    private <T> Committed<T> retrying(String what, Function<DbTransaction, Committed<T>> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return inTransaction(work);
            } catch (RuntimeException e) {
                if (!(e instanceof Retry) && !collision(e)) {
                    throw translate(e);
                }
                if (attempt >= settings.maxAttempts()) {
                    LOGGER.log(System.Logger.Level.WARNING, what + " still collides after " + attempt + " attempts", e);
                    throw new ProtocolException(ErrorCode.UNAVAILABLE, "the document is busy; retry later");
                }
                backoff(attempt);
            }
        }
    }

    /** One transaction, always ended: committed when the work returns, rolled back when it throws. */
    private <T> Committed<T> inTransaction(Function<DbTransaction, Committed<T>> work) {
        DbTransaction tx = db.transaction();
        Committed<T> result;
        try {
            result = work.apply(tx);
        } catch (RuntimeException e) {
            try {
                tx.rollback();
            } catch (RuntimeException r) {
                e.addSuppressed(r);
            }
            throw e;
        }
        // a failed commit has already closed the transaction: nothing to roll back
        tx.commit();
        return result;
    }

    private static void backoff(int attempt) {
        long max = Math.min(50, 1L << Math.min(attempt, 5));
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1, max + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "interrupted");
        }
    }

    /** Whether the failure is a collision with a concurrent transaction, worth running again. */
    private static boolean collision(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                String state = s.getSQLState();
                // unique violation (a concurrent create/insert), serialization failure, deadlock,
                // lock not available (PostgreSQL), lock timeout and concurrent update (H2)
                if (state.equals("23505") || state.equals("40001") || state.equals("40P01") || state.equals("55P03")
                        || state.equals("HYT00") || state.equals("90131")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static RuntimeException translate(RuntimeException e) {
        if (e instanceof ProtocolException) {
            return e;
        }
        LOGGER.log(System.Logger.Level.WARNING, "document store failure", e);
        return new ProtocolException(ErrorCode.UNAVAILABLE, "the document store is not available");
    }

    private static <T> T guarded(java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    // ------------------------------------------------------------------ rows

    /** The stored head of a document. */
    private record Head(long version, ObjectNode data, boolean deleted, Instant updatedAt, String updatedBy,
                        Optional<String> opId) {
        Document document(DocRef ref) {
            return new Document(ref, version, data, updatedAt, updatedBy, deleted);
        }
    }

    private static Head head(DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new Head(longOf(row, "version"), Json.parseObject(stringOf(row, "data")), boolOf(row, "deleted"),
                instantOf(row, "updated_at"), stringOf(row, "updated_by"), optionalString(row, "op_id"));
    }

    private static Merger.Version version(DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new Merger.Version(longOf(row, "version"), Json.parseObject(stringOf(row, "data")), boolOf(row, "deleted"),
                stringOf(row, "origin"), optionalString(row, "op_id"), instantOf(row, "updated_at"));
    }

    private static JsonNode baseOf(List<Merger.Version> history, long baseVersion) {
        return history.stream().filter(v -> v.version() == baseVersion).findFirst()
                .<JsonNode>map(Merger.Version::data).orElse(Json.object());
    }

    private static ConflictRecord conflict(DbRow dbRow) {
        Row row = Row.of(dbRow);
        ConflictRecord.Status status = ConflictRecord.Status.fromWire(stringOf(row, "status")).orElseThrow();
        Optional<ConflictRecord.Outcome> outcome = optionalString(row, "resolution").map(r -> new ConflictRecord.Outcome(
                Resolution.Kind.fromWire(r).orElseThrow(), stringOf(row, "resolved_by"), instantOf(row, "resolved_at"),
                longOf(row, "resolved_version")));
        return new ConflictRecord(stringOf(row, "id"), stringOf(row, "tenant"),
                new DocRef(stringOf(row, "doc_type"), stringOf(row, "doc_id")), stringOf(row, "op_id"),
                stringOf(row, "author"), optionalString(row, "client_id"), longOf(row, "base_version"),
                longOf(row, "server_version"), Json.parse(stringOf(row, "base_data")),
                Json.parse(stringOf(row, "server_data")), Json.parse(stringOf(row, "local_data")),
                fields(stringOf(row, "fields")), status, instantOf(row, "created_at"), outcome);
    }

    private static AuditEntry audit(DocRef ref, DbRow dbRow) {
        Row row = Row.of(dbRow);
        return new AuditEntry(longOf(row, "id"), ref, stringOf(row, "action"), stringOf(row, "strategy"),
                fields(stringOf(row, "fields")), stringOf(row, "actor"), optionalString(row, "op_id"),
                optionalString(row, "conflict_id"), longOf(row, "version_before"), longOf(row, "version_after"),
                Json.parse(stringOf(row, "data_before")), Json.parse(stringOf(row, "data_after")),
                stringOf(row, "reason"), instantOf(row, "created_at"));
    }

    private static List<String> fields(String json) {
        List<String> fields = new ArrayList<>();
        if (Json.parse(json) instanceof ArrayNode a) {
            a.forEach(f -> fields.add(f.asText()));
        }
        return fields;
    }

    private static Map<String, Object> key(String tenant, DocRef ref) {
        Map<String, Object> p = new HashMap<>();
        p.put("tenant", tenant);
        p.put("type", ref.type());
        p.put("id", ref.id());
        return p;
    }

    /**
     * A row's values by lower-case column name: H2 reports unquoted names in upper case,
     * PostgreSQL in lower case, and DbRow looks names up exactly.
     */
    private record Row(Map<String, Object> values) {
        static Row of(DbRow row) {
            Map<String, Object> values = new HashMap<>();
            row.forEach(c -> values.put(c.name().toLowerCase(Locale.ROOT), c.get(Object.class)));
            return new Row(values);
        }

        Object get(String column) {
            if (!values.containsKey(column)) {
                throw new IllegalStateException("no column " + column);
            }
            return values.get(column);
        }
    }

    private static Object raw(Row row, String column) {
        return row.get(column);
    }

    private static long longOf(Row row, String column) {
        return ((Number) raw(row, column)).longValue();
    }

    private static boolean boolOf(Row row, String column) {
        return (Boolean) raw(row, column);
    }

    private static String stringOf(Row row, String column) {
        return String.valueOf(raw(row, column));
    }

    private static Optional<String> optionalString(Row row, String column) {
        return Optional.ofNullable(raw(row, column)).map(String::valueOf);
    }

    /** Drivers differ: PostgreSQL answers Timestamp for timestamptz, H2 OffsetDateTime. */
    private static Instant instantOf(Row row, String column) {
        Object v = raw(row, column);
        return switch (v) {
            case Timestamp t -> t.toInstant();
            case OffsetDateTime o -> o.toInstant();
            case Instant i -> i;
            case LocalDateTime l -> l.toInstant(ZoneOffset.UTC);
            default -> throw new IllegalStateException("unexpected timestamp type " + v.getClass().getName());
        };
    }

    private static OffsetDateTime timestamp(Instant at) {
        return OffsetDateTime.ofInstant(at, ZoneOffset.UTC);
    }

    /** The clock in the databases' precision (microseconds), so stored and returned times agree. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
