package dev.tandem.conflict;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import dev.tandem.document.Outbox;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;

/**
 * The {@code outbox} table as the relay sees it (the rows themselves are written by the
 * document store in each change's transaction), and the {@code outbox_lease} row that lets one
 * node relay at a time.
 */
final class OutboxTable implements Outbox {
    /** A reader of the outbox with its own cursor column and lease. */
    enum Reader {
        /** The Kafka relay. */
        KAFKA("published_at", "relay"),
        /** The webhook relay. */
        WEBHOOKS("hooked_at", "webhooks");

        private final String column;
        private final String lease;

        Reader(String column, String lease) {
            this.column = column;
            this.lease = lease;
        }
    }

    private final String unpublished;
    private final String mark;
    private final String backlogSql;
    private final String leaseSql;

    private final DbClient db;
    private final Clock clock;

    OutboxTable(DbClient db, Clock clock, Reader stream) {
        this.db = db;
        this.clock = clock;
        String c = stream.column;
        this.unpublished = "SELECT id, event_key, CAST(payload AS VARCHAR) AS payload FROM outbox "
                + "WHERE " + c + " IS NULL ORDER BY id LIMIT :limit";
        this.mark = "UPDATE outbox SET " + c + " = :at WHERE id = :id";
        this.backlogSql = "SELECT COUNT(*) AS n FROM outbox WHERE " + c + " IS NULL";
        this.leaseSql = "UPDATE outbox_lease SET holder = :holder, expires_at = :until "
                + "WHERE name = '" + stream.lease + "' AND (holder IS NULL OR holder = :holder OR expires_at < :now)";
    }

    @Override
    public boolean acquireLease(String holder, Duration ttl) {
        Instant now = clock.instant();
        long n = db.execute().createNamedUpdate("outbox-lease", leaseSql).params(Map.of("holder", holder,
                "until", at(now.plus(ttl)), "now", at(now))).execute();
        return n == 1;
    }

    @Override
    public List<Entry> unpublished(int max) {
        try (Stream<DbRow> rows = db.execute().createNamedQuery("outbox-unpublished", unpublished)
                .params(Map.of("limit", max)).execute()) {
            // by position: H2 and PostgreSQL spell unquoted column names in different cases
            return rows.map(r -> new Entry(((Number) r.column(1).get(Object.class)).longValue(),
                    r.column(2).get(String.class),
                    r.column(3).get(String.class).getBytes(StandardCharsets.UTF_8))).toList();
        }
    }

    @Override
    public void markPublished(List<Long> ids) {
        DbTransaction tx = db.transaction();
        try {
            OffsetDateTime at = at(clock.instant());
            for (Long id : ids) {
                tx.createNamedUpdate("outbox-mark", mark).params(Map.of("at", at, "id", id)).execute();
            }
        } catch (RuntimeException e) {
            tx.rollback();
            throw e;
        }
        tx.commit();
    }

    @Override
    public long backlog() {
        return db.execute().createNamedGet("outbox-backlog", backlogSql).execute()
                .map(r -> ((Number) r.column(1).get(Object.class)).longValue()).orElse(0L);
    }

    private static OffsetDateTime at(Instant i) {
        return OffsetDateTime.ofInstant(i, ZoneOffset.UTC);
    }
}
