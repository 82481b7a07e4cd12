package dev.tandem.conflict.push;

import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Stream;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.push.Device;
import dev.tandem.push.PushStore;
import dev.tandem.telemetry.LogText;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbExecute;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;
import org.flywaydb.core.Flyway;

/**
 * The {@link PushStore} in the documents database (the embedded H2 file standalone, PostgreSQL in
 * cluster mode, so every node sees the same devices and queue): tables {@code push_devices},
 * {@code push_queue} and {@code push_history}, migrated by Flyway from {@code db/push} with their
 * own history table ({@code push_schema_history}) beside the document store's.
 *
 * <p>A row is claimed with a lease: a conditional {@code UPDATE} of one row (due, and not leased
 * or its lease run out) that only one node's statement can match, committed on its own, so no
 * transaction or connection is held while the push service is called. Finishing or retrying a row
 * checks that the lease is still the caller's.
 */
public final class SqlPushStore implements PushStore {
    private static final System.Logger LOG = System.getLogger(SqlPushStore.class.getName());

    private static final String DEVICE_COLUMNS = "SELECT id, tenant, user_id, device, created_at FROM push_devices";
    private static final String CLAIMABLE = "due_at <= :now AND (lease_until IS NULL OR lease_until < :now)";

    private final DbClient db;

    private SqlPushStore(DbClient db) {
        this.db = db;
    }

    /**
     * Opens the store on the database named by {@code db} ({@code url}, {@code username},
     * {@code password}, {@code schema}; the same node the document store reads, with the same
     * defaults), migrating its tables first. The document store must have migrated the database
     * before (its history table comes first in an empty schema).
     *
     * @param poolSize connections this store may hold
     */
    public static SqlPushStore create(Config db, int poolSize) {
        String url = db.get("url").asString().orElse("jdbc:h2:file:./data/tandem;LOCK_TIMEOUT=10000");
        String user = db.get("username").asString().orElse(url.startsWith("jdbc:h2:") ? "sa" : "postgres");
        String password = db.get("password").asString().orElse("");
        Optional<String> schema = db.get("schema").asString().filter(s -> !s.isBlank());
        var flyway = Flyway.configure()
                .dataSource(url, user, password)
                .table("push_schema_history")
                .baselineOnMigrate(true)
                .baselineVersion("0")
                .locations("classpath:db/push");
        schema.ifPresent(flyway::schemas);
        flyway.load().migrate();
        Map<String, String> m = new HashMap<>();
        m.put("source", "jdbc");
        m.put("connection.url", url);
        m.put("connection.username", user);
        m.put("connection.password", password);
        schema.ifPresent(s -> m.put("connection.schema", s));
        m.put("connection.connectionTimeout", "3000");
        m.put("connection.maximumPoolSize", Integer.toString(poolSize));
        return new SqlPushStore(DbClient.create(Config.just(ConfigSources.create(m))));
    }

    // ------------------------------------------------------------------ devices

    @Override
    public Registered register(String tenant, String user, Device device, int maxPerUser, Instant now) {
        String address = PushCodec.address(device);
        for (int attempt = 1; ; attempt++) {
            try {
                return inTransaction(tx -> {
                    Optional<Registered> same = tx.createNamedGet("push-device-address", DEVICE_COLUMNS
                            + " WHERE tenant = :tenant AND address = :address")
                            .params(Map.of("tenant", tenant, "address", address)).execute().map(SqlPushStore::registered);
                    if (same.isPresent() && same.get().user().equals(user)) {
                        return same.get();
                    }
                    long others = tx.createNamedGet("push-device-count", "SELECT COUNT(*) FROM push_devices "
                            + "WHERE tenant = :tenant AND user_id = :user").params(Map.of("tenant", tenant, "user", user))
                            .execute().map(r -> number(r, 1)).orElse(0L);
                    if (others >= maxPerUser) {
                        throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "the user has " + maxPerUser
                                + " devices, the most one user may register; remove one first");
                    }
                    if (same.isPresent()) {
                        // the address moved to another user of the tenant (a shared browser): the
                        // earlier user is not reached through it any more
                        removeIn(tx, tenant, same.get().id());
                    }
                    String id = UUID.randomUUID().toString();
                    tx.createNamedInsert("push-device-insert", "INSERT INTO push_devices (id, tenant, user_id, kind, "
                            + "address, device, created_at) VALUES (:id, :tenant, :user, :kind, :address, :device, :at)")
                            .params(Map.of("id", id, "tenant", tenant, "user", user, "kind", device.kind().wire(),
                                    "address", address, "device", PushCodec.device(device), "at", now.toEpochMilli()))
                            .execute();
                    return new Registered(id, tenant, user, device, Instant.ofEpochMilli(now.toEpochMilli()));
                });
            } catch (RuntimeException e) {
                if (attempt >= 3 || !uniqueViolation(e)) {
                    throw translate(e);
                }
                // the same address registered concurrently: the next attempt finds it
            }
        }
    }

    @Override
    public List<Registered> devices(String tenant, String user) {
        return guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("push-devices", DEVICE_COLUMNS
                    + " WHERE tenant = :tenant AND user_id = :user ORDER BY created_at, id")
                    .params(Map.of("tenant", tenant, "user", user)).execute()) {
                return rows.map(SqlPushStore::registered).toList();
            }
        });
    }

    @Override
    public Optional<Registered> device(String tenant, String id) {
        return guarded(() -> db.execute().createNamedGet("push-device", DEVICE_COLUMNS
                + " WHERE tenant = :tenant AND id = :id").params(Map.of("tenant", tenant, "id", id)).execute()
                .map(SqlPushStore::registered));
    }

    @Override
    public boolean remove(String tenant, String id) {
        try {
            return inTransaction(tx -> removeIn(tx, tenant, id));
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    private static boolean removeIn(DbExecute tx, String tenant, String id) {
        long n = tx.createNamedDelete("push-device-delete", "DELETE FROM push_devices WHERE tenant = :tenant AND id = :id")
                .params(Map.of("tenant", tenant, "id", id)).execute();
        if (n > 0) {
            tx.createNamedDelete("push-queue-of-device", "DELETE FROM push_queue WHERE tenant = :tenant AND device_id = :id")
                    .params(Map.of("tenant", tenant, "id", id)).execute();
        }
        return n > 0;
    }

    // ------------------------------------------------------------------ queue

    @Override
    public int enqueue(String tenant, String user, dev.tandem.push.Notification notification, Instant now) {
        try {
            return inTransaction(tx -> (int) tx.createNamedInsert("push-enqueue", "INSERT INTO push_queue (tenant, "
                    + "user_id, device_id, notification, attempts, due_at, expires_at, created_at) SELECT tenant, user_id, "
                    + "id, :notification, 0, :now, :expires, :now FROM push_devices WHERE tenant = :tenant AND user_id = :user")
                    .params(Map.of("notification", PushCodec.notification(notification), "now", now.toEpochMilli(),
                            "expires", now.plus(notification.ttl()).toEpochMilli(), "tenant", tenant, "user", user))
                    .execute());
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    @Override
    public List<Claimed> claim(String holder, int max, Duration lease, Instant now) {
        return guarded(() -> {
            long at = now.toEpochMilli();
            List<Long> due;
            try (Stream<DbRow> rows = db.execute().createNamedQuery("push-due", "SELECT id FROM push_queue WHERE "
                    + CLAIMABLE + " ORDER BY due_at, id LIMIT :max").params(Map.of("now", at, "max", max)).execute()) {
                due = rows.map(r -> number(r, 1)).toList();
            }
            List<Claimed> claimed = new ArrayList<>();
            for (long id : due) {
                // committed on its own: of the nodes that try the same row, one statement matches
                long won = db.execute().createNamedUpdate("push-claim", "UPDATE push_queue SET lease_holder = :holder, "
                        + "lease_until = :until, attempts = attempts + 1 WHERE id = :id AND " + CLAIMABLE)
                        .params(Map.of("holder", holder, "until", now.plus(lease).toEpochMilli(), "id", id, "now", at))
                        .execute();
                if (won == 1) {
                    db.execute().createNamedGet("push-claimed", "SELECT q.id, q.tenant, q.user_id, q.device_id, "
                            + "q.notification, q.attempts, q.expires_at, d.device FROM push_queue q LEFT JOIN push_devices d "
                            + "ON d.id = q.device_id AND d.tenant = q.tenant WHERE q.id = :id AND q.lease_holder = :holder")
                            .params(Map.of("id", id, "holder", holder)).execute().map(SqlPushStore::claimed)
                            .ifPresent(claimed::add);
                }
            }
            return claimed;
        });
    }

    @Override
    public void finish(Claimed row, String holder, HistoryEntry entry, boolean removeDevice) {
        try {
            inTransaction(tx -> {
                long mine = tx.createNamedDelete("push-finish", "DELETE FROM push_queue WHERE id = :id AND "
                        + "lease_holder = :holder").params(Map.of("id", row.id(), "holder", holder)).execute();
                if (mine == 0) {
                    return false; // the lease ran out and another node took the row
                }
                Map<String, Object> p = new HashMap<>();
                p.put("tenant", entry.tenant());
                p.put("user", entry.user());
                p.put("device", entry.deviceId());
                p.put("kind", entry.kind().map(Device.Kind::wire).orElse(""));
                p.put("outcome", entry.outcome());
                p.put("status", entry.status());
                p.put("reason", entry.reason());
                p.put("attempts", entry.attempts());
                p.put("title", entry.title());
                p.put("at", entry.at().toEpochMilli());
                tx.createNamedInsert("push-history-insert", "INSERT INTO push_history (tenant, user_id, device_id, kind, "
                        + "outcome, status, reason, attempts, title, finished_at) VALUES (:tenant, :user, :device, :kind, "
                        + ":outcome, :status, :reason, :attempts, :title, :at)").params(p).execute();
                if (removeDevice) {
                    removeIn(tx, row.tenant(), row.deviceId());
                }
                return true;
            });
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    @Override
    public void retry(Claimed row, String holder, Instant dueAt) {
        guarded(() -> db.execute().createNamedUpdate("push-retry", "UPDATE push_queue SET due_at = :due, "
                + "lease_holder = NULL, lease_until = NULL WHERE id = :id AND lease_holder = :holder")
                .params(Map.of("due", dueAt.toEpochMilli(), "id", row.id(), "holder", holder)).execute());
    }

    @Override
    public List<HistoryEntry> history(String tenant, String user, int limit) {
        return guarded(() -> {
            try (Stream<DbRow> rows = db.execute().createNamedQuery("push-history", "SELECT tenant, user_id, device_id, "
                    + "kind, outcome, status, reason, attempts, title, finished_at FROM push_history "
                    + "WHERE tenant = :tenant AND user_id = :user ORDER BY id DESC LIMIT :limit")
                    .params(Map.of("tenant", tenant, "user", user, "limit", limit)).execute()) {
                return rows.map(r -> {
                    String kind = text(r, 4);
                    return new HistoryEntry(text(r, 1), text(r, 2), text(r, 3),
                            kind.isEmpty() ? Optional.empty() : Optional.of(Device.Kind.fromWire(kind)), text(r, 5),
                            (int) number(r, 6), text(r, 7), (int) number(r, 8), text(r, 9),
                            Instant.ofEpochMilli(number(r, 10)));
                }).toList();
            }
        });
    }

    @Override
    public long backlog() {
        return guarded(() -> db.execute().createNamedGet("push-backlog", "SELECT COUNT(*) FROM push_queue").execute()
                .map(r -> number(r, 1)).orElse(0L));
    }

    @Override
    public void pruneHistory(Instant before) {
        guarded(() -> db.execute().createNamedDelete("push-history-prune", "DELETE FROM push_history WHERE finished_at < :t")
                .params(Map.of("t", before.toEpochMilli())).execute());
    }

    @Override
    public void close() {
        db.close();
    }

    // ------------------------------------------------------------------ rows and transactions

    // columns by position: H2 and PostgreSQL spell unquoted column names in different cases
    private static Registered registered(DbRow r) {
        return new Registered(text(r, 1), text(r, 2), text(r, 3), PushCodec.device(text(r, 4)),
                Instant.ofEpochMilli(number(r, 5)));
    }

    private static Claimed claimed(DbRow r) {
        Optional<String> device = Optional.ofNullable(r.column(8).get(String.class));
        return new Claimed(number(r, 1), text(r, 2), text(r, 3), text(r, 4), device.map(PushCodec::device),
                PushCodec.notification(text(r, 5)), (int) number(r, 6), Instant.ofEpochMilli(number(r, 7)));
    }

    private static String text(DbRow r, int column) {
        String s = r.column(column).get(String.class);
        return s == null ? "" : s;
    }

    private static long number(DbRow r, int column) {
        return ((Number) r.column(column).get(Object.class)).longValue();
    }

    /** One transaction, always ended: committed when the work returns, rolled back when it throws. */
    private <T> T inTransaction(Function<DbTransaction, T> work) {
        DbTransaction tx = db.transaction();
        T result;
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
        tx.commit();
        return result;
    }

    private static <T> T guarded(java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    private static boolean uniqueViolation(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && "23505".equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    private static RuntimeException translate(RuntimeException e) {
        if (e instanceof ProtocolException) {
            return e;
        }
        LOG.log(System.Logger.Level.WARNING, "push store failure", LogText.scrub(e));
        return new ProtocolException(ErrorCode.UNAVAILABLE, "the push store is not available");
    }
}
