package dev.tandem.conflict;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.document.AuditEntry;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.History;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbRow;

/**
 * Pages of a document's history ({@link #history}), and pages of live documents of a type whose top-level field equals a value, by id. On PostgreSQL
 * the database matches (jsonb containment, a GIN index); on H2, which has no JSON operators, the
 * type's documents are read in id order in batches and matched here, at most
 * {@value #MAX_SCAN} rows per page, so a page may come back short while {@code next} says more
 * may follow. The cursor is the last id looked at, encoded; clients treat it as opaque.
 */
final class DocumentQueries {
    /** Most rows an H2 page reads. */
    static final int MAX_SCAN = 5_000;
    private static final int BATCH = 500;

    private final DbClient db;
    private final Sql sql;

    DocumentQueries(DbClient db, Sql sql) {
        this.db = db;
        this.sql = sql;
    }

    /**
     * A page of versions down from {@code before} (or the head): each version as kept and the
     * audit entries that name it as the version after (its merge or resolution, and the
     * rejections and conflicts recorded while it was current).
     */
    History.Page history(String tenant, DocRef ref, Document head, History.Query q) {
        long high = Math.min(q.before().orElse(head.version()), head.version());
        long low = Math.max(1, high - q.limit() + 1);
        Map<String, Object> p = Rows.key(tenant, ref);
        p.put("low", low);
        p.put("high", high);
        Map<Long, Merger.Version> versions = new HashMap<>();
        Map<Long, List<AuditEntry>> audit = new HashMap<>();
        Transactions.guarded(() -> {
            try (Stream<DbRow> s = db.execute().createNamedQuery("history-versions", sql.historyVersions).params(p)
                    .execute()) {
                s.map(Rows::version).forEach(v -> versions.put(v.version(), v));
            }
            try (Stream<DbRow> s = db.execute().createNamedQuery("history-audit", sql.historyAudit).params(p).execute()) {
                s.map(r -> Rows.audit(ref, r)).forEach(e -> audit.computeIfAbsent(e.versionAfter(),
                        k -> new ArrayList<>()).add(e));
            }
            return null;
        });
        List<History.Step> steps = new ArrayList<>();
        for (long v = high; v >= low; v--) {
            Optional<Document> written = Optional.ofNullable(versions.get(v)).map(x -> new Document(ref, x.version(),
                    x.data(), x.at(), x.by(), head.createdBy(), x.deleted()));
            steps.add(new History.Step(v, written, audit.getOrDefault(v, List.of())));
        }
        return new History.Page(steps, low > 1 ? Optional.of(low - 1) : Optional.empty());
    }

    DocumentQuery.Page query(String tenant, DocumentQuery q) {
        String after = q.after().map(DocumentQueries::decodeCursor).orElse("");
        return sql.postgres ? contains(tenant, q, after) : scan(tenant, q, after);
    }

    private DocumentQuery.Page contains(String tenant, DocumentQuery q, String after) {
        Map<String, Object> p = params(tenant, q.type(), after, q.limit() + 1);
        p.put("where", Json.write(Json.object().set(q.field(), q.value())));
        List<Document> rows = Transactions.guarded(() -> {
            try (Stream<DbRow> s = db.execute().createNamedQuery("doc-query", sql.queryContains).params(p).execute()) {
                return s.map(r -> Rows.document(q.type(), r)).toList();
            }
        });
        if (rows.size() <= q.limit()) {
            return new DocumentQuery.Page(rows, Optional.empty());
        }
        List<Document> page = rows.subList(0, q.limit());
        return new DocumentQuery.Page(page, Optional.of(cursor(page.getLast().ref().id())));
    }

    private DocumentQuery.Page scan(String tenant, DocumentQuery q, String after) {
        List<Document> matches = new ArrayList<>();
        String last = after;
        int scanned = 0;
        while (scanned < MAX_SCAN) {
            int batch = Math.min(BATCH, MAX_SCAN - scanned);
            Map<String, Object> p = params(tenant, q.type(), last, batch);
            List<Document> rows = Transactions.guarded(() -> {
                try (Stream<DbRow> s = db.execute().createNamedQuery("doc-scan", sql.queryScan).params(p).execute()) {
                    return s.map(r -> Rows.document(q.type(), r)).toList();
                }
            });
            for (Document d : rows) {
                scanned++;
                last = d.ref().id();
                if (Json.same(d.data().get(q.field()), q.value())) {
                    matches.add(d);
                    if (matches.size() == q.limit()) {
                        // more may follow: the next page starts after this one
                        return new DocumentQuery.Page(matches, Optional.of(cursor(last)));
                    }
                }
            }
            if (rows.size() < batch) {
                return new DocumentQuery.Page(matches, Optional.empty());
            }
        }
        return new DocumentQuery.Page(matches, Optional.of(cursor(last)));
    }

    private static Map<String, Object> params(String tenant, String type, String after, int limit) {
        Map<String, Object> p = new HashMap<>();
        p.put("tenant", tenant);
        p.put("type", type);
        p.put("after", after);
        p.put("limit", limit);
        return p;
    }

    static String cursor(String docId) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(("d:" + docId).getBytes(StandardCharsets.UTF_8));
    }

    static String decodeCursor(String cursor) {
        try {
            String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.UTF_8);
            if (text.startsWith("d:") && DocRef.isValid("t", text.substring(2))) {
                return text.substring(2);
            }
        } catch (IllegalArgumentException e) {
            // not base64: refused below
        }
        throw new ProtocolException(ErrorCode.BAD_REQUEST, "'after' is not a cursor of this query");
    }

    static boolean matches(JsonNode data, DocumentQuery q) {
        return Json.same(data.get(q.field()), q.value());
    }
}
