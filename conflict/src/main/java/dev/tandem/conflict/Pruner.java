package dev.tandem.conflict;

import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.tandem.document.Written;

import io.helidon.dbclient.DbClient;

/**
 * Drops what the retention settings no longer require, every {@code prune-interval}: versions
 * older than the newest {@code keep-versions} of each document, applied opIds older than
 * {@code op-retention} (their device's sequence keeps detecting replays), relayed outbox rows
 * older than that, and audit entries older than {@code audit-retention}.
 */
final class Pruner implements AutoCloseable {
    private static final System.Logger LOGGER = System.getLogger(Pruner.class.getName());

    private final DbClient db;
    private final Sql sql;
    private final Settings settings;
    private final Transactions transactions;
    private final Clock clock;
    private final Optional<ScheduledExecutorService> timer;

    Pruner(DbClient db, Sql sql, Settings settings, Transactions transactions, Clock clock) {
        this.db = db;
        this.sql = sql;
        this.settings = settings;
        this.transactions = transactions;
        this.clock = clock;
        if (settings.pruneInterval().isZero() || settings.pruneInterval().isNegative()) {
            this.timer = Optional.empty();
        } else {
            ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tandem-documents-prune");
                t.setDaemon(true);
                return t;
            });
            long every = settings.pruneInterval().toMillis();
            s.scheduleWithFixedDelay(this::pruneQuietly, every, every, TimeUnit.MILLISECONDS);
            this.timer = Optional.of(s);
        }
    }

    /** Prunes now; the number of rows removed. */
    long prune() {
        Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
        OffsetDateTime ops = Rows.timestamp(now.minus(settings.opRetention()));
        OffsetDateTime audit = Rows.timestamp(now.minus(settings.auditRetention()));
        return Transactions.guarded(() -> {
            long n = db.execute().createNamedDelete("prune-versions", sql.pruneVersions)
                    .params(Map.of("keep", settings.keepVersions())).execute();
            n += transactions.once(tx -> {
                tx.createNamedUpdate("prune-sequences", sql.pruneSequences).params(Map.of("cutoff", ops)).execute();
                return Written.of(tx.createNamedDelete("prune-ops", sql.pruneOps)
                        .params(Map.of("cutoff", ops)).execute());
            }).value();
            n += db.execute().createNamedDelete("prune-outbox", sql.pruneOutbox).params(Map.of("cutoff", ops)).execute();
            n += db.execute().createNamedDelete("prune-audit", sql.pruneAudit).params(Map.of("cutoff", audit)).execute();
            return n;
        });
    }

    private void pruneQuietly() {
        try {
            long n = prune();
            LOGGER.log(System.Logger.Level.DEBUG, () -> "pruned " + n + " document rows");
        } catch (RuntimeException e) {
            LOGGER.log(System.Logger.Level.WARNING, "pruning documents failed; will try again",
                    dev.tandem.telemetry.LogText.scrub(e));
        }
    }

    @Override
    public void close() {
        timer.ifPresent(ScheduledExecutorService::shutdownNow);
    }
}
