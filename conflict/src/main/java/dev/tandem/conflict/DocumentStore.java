package dev.tandem.conflict;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.Documents;
import dev.tandem.document.Edit;
import dev.tandem.document.History;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;
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
 * <p>Each operation is one transaction ({@link Applier}) that locks the document's row
 * ({@code SELECT ... FOR UPDATE}), decides with the type's policy ({@link Merger}), takes the
 * caller's {@link WriteGuard} verdict on that outcome, and writes the new version (guarded by
 * {@code UPDATE ... WHERE version = ?}), its history entry, the author's applied opId, the
 * device's sequence, the audit entry of a merge and an outbox row, or nothing at all
 * ({@link VersionWriter}). A blocking guard (a backend's hook) is never asked inside a
 * transaction: a first round reads and merges without locking and stops at the guard, the guard
 * is asked with no connection held, and the next round re-checks under the lock; when the
 * document moved and the outcome changed it is asked again, at most {@code max-judgements} times
 * ({@link Verdicts}), then {@code unavailable}. Writers that collide (two creators, a lock
 * timeout, a serialization failure) roll back and run again against the newer version
 * ({@link Transactions}), so no interleaving loses an update; a replayed opId is found in the same
 * transaction and answered as a duplicate. What committed is handed back ({@link Written}), never
 * published from here. Resolutions ({@link Resolver}), queries ({@link DocumentQueries}) and pruning ({@link Pruner})
 * have their own classes.
 *
 * <p>Configuration (the documents node, e.g. {@code tandem.documents}): {@code db.url}
 * ({@value Settings#DEFAULT_URL}), {@code db.username}, {@code db.password}, {@code db.schema}
 * (PostgreSQL), {@code db.pool.*} (Hikari properties), {@code max-document-bytes} (262144),
 * {@code max-number-digits} (100), {@code keep-versions} (100), {@code op-retention} (P30D),
 * {@code audit-retention} (P90D), {@code prune-interval} (PT1H, PT0S for none),
 * {@code max-attempts} (100) and {@code types.*} (the policies, see {@link dev.tandem.document}).
 *
 * <p>Thread-safe; blocking (call it from virtual threads).
 */
public final class DocumentStore implements Documents {
    private final Policies policies;
    private final Clock clock;
    private final DbClient db;
    private final Sql sql;
    private final Transactions transactions;
    private final VersionWriter writer;
    private final Applier applier;
    private final Resolver resolver;
    private final DocumentQueries queries;
    private final Pruner pruner;
    private final Numbers numbers;
    private final int maxJudgements;

    private DocumentStore(Settings settings, Policies policies, Clock clock) {
        this.policies = policies;
        this.clock = clock;
        this.sql = new Sql(settings.postgres());
        migrate(settings);
        this.db = DbClient.create(dbConfig(settings));
        this.transactions = new Transactions(db, settings.maxAttempts());
        this.writer = new VersionWriter(sql);
        this.numbers = new Numbers(settings.maxNumberDigits());
        this.applier = new Applier(sql, writer, numbers, settings.maxDocumentBytes());
        this.resolver = new Resolver(sql, writer, applier);
        this.queries = new DocumentQueries(db, sql);
        this.pruner = new Pruner(db, sql, settings, transactions, clock);
        this.maxJudgements = settings.maxJudgements();
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
        return Transactions.guarded(() -> db.execute().createNamedGet("head-get", sql.headGet)
                .params(Rows.key(who.tenant(), ref)).execute().map(row -> Rows.head(row).document(ref)));
    }

    @Override
    public Optional<ConflictRecord> getConflict(Principal who, String conflictId) {
        return Transactions.guarded(() -> db.execute().createNamedGet("conflict-get", sql.conflictGet)
                .params(Map.of("tenant", who.tenant(), "cid", conflictId)).execute().map(Rows::conflict));
    }

    @Override
    public List<ConflictRecord> listConflicts(Principal who, ConflictFilter filter) {
        Map<String, Object> p = new HashMap<>();
        p.put("tenant", who.tenant());
        p.put("limit", filter.limit());
        filter.type().ifPresent(t -> p.put("type", t));
        filter.status().ifPresent(s -> p.put("status", s.wire()));
        String stmt = sql.conflictList(filter.type().isPresent(), filter.status().isPresent());
        return Transactions.guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("conflict-list", stmt).params(p).execute()) {
                return rows.map(Rows::conflict).toList();
            }
        });
    }

    @Override
    public long countOpenConflicts(Principal who, String author) {
        return Transactions.guarded(() -> db.execute().createNamedGet("conflict-count", sql.conflictCount)
                .params(Map.of("tenant", who.tenant(), "author", author)).execute()
                .map(r -> ((Number) r.column(1).get(Object.class)).longValue()).orElse(0L));
    }

    @Override
    public DocumentQuery.Page query(Principal who, DocumentQuery query) {
        return queries.query(who.tenant(), query);
    }

    @Override
    public List<String> channelTemplates(String type) {
        return policies.of(type).channels();
    }

    @Override
    public List<AuditEntry> audit(Principal who, DocRef ref, int limit) {
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1-1000");
        }
        Map<String, Object> p = Rows.key(who.tenant(), ref);
        p.put("limit", limit);
        List<AuditEntry> newestFirst = Transactions.guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("audit-list", sql.auditList).params(p).execute()) {
                return rows.map(row -> Rows.audit(ref, row)).toList();
            }
        });
        return newestFirst.reversed();
    }

    @Override
    public History.Page history(Principal who, DocRef ref, History.Query query) {
        Optional<Document> head = get(who, ref);
        return head.isEmpty() ? new History.Page(List.of(), Optional.empty())
                : queries.history(who.tenant(), ref, head.get(), query);
    }

    // ------------------------------------------------------------------ writes

    @Override
    public Written<OpResult> write(Principal who, DocOp op, WriteGuard guard) {
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(guard, "guard");
        Optional<OpResult> refused = applier.precheck(op);
        if (refused.isPresent()) {
            return Written.of(refused.get());
        }
        Instant receivedAt = now();
        Policy policy = policies.of(op.ref().type());
        // writes of one client device never conflict with each other (see Merger)
        String origin = op.source().map(s -> "c:" + s.clientId()).orElse("op:" + op.opId());
        return judged("an operation on " + op.ref(), guard,
                (tx, verdicts) -> applier.apply(tx, who, op, policy, origin, verdicts, receivedAt));
    }

    /**
     * Runs the work until it commits, asking a blocking guard between rounds, outside every
     * transaction, about each outcome the work meets (see {@link Verdicts}).
     */
    private <T> Written<T> judged(String what, WriteGuard guard,
                                  BiFunction<DbTransaction, Verdicts, Written<T>> work) {
        Verdicts verdicts = new Verdicts(guard);
        while (true) {
            try {
                return transactions.retrying(what, tx -> work.apply(tx, verdicts));
            } catch (Verdicts.Unjudged u) {
                if (u.write().isEmpty()) {
                    continue; // relocked: the next round reads under the row lock
                }
                if (verdicts.asked() >= maxJudgements) {
                    throw new ProtocolException(ErrorCode.UNAVAILABLE, "the document kept changing while the write was "
                            + "judged (" + maxJudgements + " times); nothing was written, retry");
                }
                verdicts.ask(u.write().get()); // no transaction, no connection held
            }
        }
    }

    @Override
    public Written<Resolved> settle(Principal who, String conflictId, Resolution resolution, WriteGuard guard) {
        Objects.requireNonNull(who, "who");
        Objects.requireNonNull(conflictId, "conflictId");
        Objects.requireNonNull(resolution, "resolution");
        Objects.requireNonNull(guard, "guard");
        Optional<String> unbounded = resolution.data().flatMap(numbers::check);
        if (unbounded.isPresent()) {
            throw new ProtocolException(ErrorCode.TOO_LARGE, unbounded.get());
        }
        Instant at = now();
        Written<Object> done = judged("a conflict resolution", guard,
                (tx, verdicts) -> resolver.resolve(tx, who, conflictId, resolution, policies, verdicts, at));
        return switch (done.value()) {
            case Resolved r -> new Written<>(r, done.change(), done.conflict());
            case ProtocolException e -> throw e; // committed: the record was marked stale
            default -> throw new IllegalStateException("unexpected " + done.value());
        };
    }

    @Override
    public Written<OpResult> revert(Principal who, DocRef ref, long version, String opId) {
        Optional<Document> current = get(who, ref);
        if (current.isEmpty()) {
            return Written.of(new OpResult.Rejected(opId, "not_found", "no document " + ref.type() + "/" + ref.id()));
        }
        if (current.get().version() != version) {
            return Written.of(new OpResult.Rejected(opId, "conflict", "the document changed since version " + version
                    + " (now " + current.get().version() + "); nothing was undone"));
        }
        if (version == 1) {
            return write(who, new DocOp(ref, version, opId, new Edit.Delete()), WriteGuard.ALLOW);
        }
        Map<String, Object> p = Rows.key(who.tenant(), ref);
        p.put("version", version - 1);
        Optional<ObjectNode> before = Transactions.guarded(() -> db.execute().createNamedGet("version-get", sql.versionGet)
                .params(p).execute().map(row -> (ObjectNode) Json.parse(row.column(1).get(String.class))));
        if (before.isEmpty()) {
            return Written.of(new OpResult.Rejected(opId, "not_found", "version " + (version - 1) + " is no longer kept"));
        }
        return write(who, new DocOp(ref, version, opId, new Edit.Replace(before.get())), WriteGuard.ALLOW);
    }

    // ------------------------------------------------------------------ operations

    /**
     * Whether accepted changes are written to the outbox (default: yes). Turn it off where no
     * relay runs (no Kafka), so the table does not grow for nothing.
     */
    public void writeOutbox(boolean on) {
        writer.outbox(on, false);
    }

    /**
     * Which readers the outbox has: the Kafka relay ({@link #outbox()}) and the webhook relay
     * ({@link #webhookOutbox()}). Rows are written when either is on; a reader that is off counts
     * as done with them, so they are pruned once the other one is.
     */
    public void writeOutbox(boolean kafka, boolean webhooks) {
        writer.outbox(kafka, webhooks);
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
    public dev.tandem.document.Outbox outbox() {
        return new OutboxTable(db, clock, OutboxTable.Reader.KAFKA);
    }

    /** The outbox as the webhook relay reads it (its own cursor and lease). */
    public dev.tandem.document.Outbox webhookOutbox() {
        return new OutboxTable(db, clock, OutboxTable.Reader.WEBHOOKS);
    }

    /**
     * Drops what the retention settings no longer require (see {@link Pruner}). Runs every
     * {@code prune-interval} by itself; callable any time.
     *
     * @return the number of rows removed
     */
    public long prune() {
        return pruner.prune();
    }

    @Override
    public void close() {
        pruner.close();
        db.close();
    }

    /** The clock in the databases' precision (microseconds), so stored and returned times agree. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
