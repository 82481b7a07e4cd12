package dev.tandem.conflict;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.channel.ChannelName;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Strategy;
import dev.tandem.telemetry.LogText;

import io.helidon.dbclient.DbTransaction;

/**
 * The rows one accepted change writes inside its transaction: the new head and history
 * version, the outbox event, the applied opId and the device's sequence, audit entries and
 * conflict records. Nothing here decides; {@link Merger} did.
 */
final class VersionWriter {
    private static final System.Logger LOGGER = System.getLogger(VersionWriter.class.getName());

    private final Sql sql;
    private volatile boolean outboxOn = true;
    private volatile boolean kafkaOn = true;
    private volatile boolean webhooksOn = false;

    VersionWriter(Sql sql) {
        this.sql = sql;
    }

    /** Which outbox streams read the rows; none: no rows are written. */
    void outbox(boolean kafka, boolean webhooks) {
        kafkaOn = kafka;
        webhooksOn = webhooks;
        outboxOn = kafka || webhooks;
    }

    /**
     * A device's sequence row, found by its author (or a legacy row without one).
     *
     * @param author        the author the row is kept under ({@link Sql#LEGACY_AUTHOR} for legacy rows)
     * @param lastSeq       the highest sequence seen
     * @param prunedThrough the highest sequence whose applied opId was pruned
     */
    record Sequence(String author, long lastSeq, long prunedThrough) {
    }

    Optional<Sequence> sequence(DbTransaction tx, String tenant, String author, String clientId) {
        return tx.createNamedGet("sequence-get", sql.sequenceGet)
                .params(Map.of("tenant", tenant, "author", author, "client", clientId)).execute()
                .map(Rows.Row::of).map(r -> new Sequence(r.stringOf("author"), r.longOf("last_seq"),
                        r.longOf("pruned_through")));
    }

    /** Writes the next version over {@code head} (or the first), its history entry and its outbox event. */
    Document write(DbTransaction tx, String tenant, DocRef ref, Optional<Rows.Head> head, ObjectNode data,
                   boolean deleted, String origin, Optional<String> opId, String by, Instant at, String result,
                   List<String> fields, Optional<Strategy> strategy, Optional<String> resolution) {
        long version = head.map(h -> h.version() + 1).orElse(1L);
        String createdBy = head.map(Rows.Head::createdBy).orElse(by);
        Map<String, Object> p = Rows.key(tenant, ref);
        p.put("version", version);
        p.put("data", Json.write(data));
        p.put("deleted", deleted);
        p.put("at", Rows.timestamp(at));
        p.put("by", by);
        p.put("op", opId.orElse(null));
        if (head.isEmpty()) {
            p.put("created_by", createdBy);
            tx.createNamedInsert("head-insert", sql.headInsert).params(p).execute();
            p.remove("created_by");
        } else {
            p.put("expected", head.get().version());
            if (tx.createNamedUpdate("head-update", sql.headUpdate).params(p).execute() != 1) {
                throw new Transactions.Retry("version moved under the lock");
            }
            p.remove("expected");
        }
        p.put("origin", origin);
        tx.createNamedInsert("version-insert", sql.versionInsert).params(p).execute();
        Document doc = new Document(ref, version, data, at, by, createdBy, deleted);
        if (outboxOn) {
            outbox(tx, tenant, doc, opId, result, fields, strategy, resolution, at);
        }
        return doc;
    }

    /**
     * Remembers the operation as its author's (with the version it was judged against, its
     * {@code baseVersion}), and advances its device's sequence.
     */
    void recordOp(DbTransaction tx, String tenant, String author, DocOp op, Optional<Sequence> sequence, String result,
                  long version, Instant at) {
        Map<String, Object> p = Rows.key(tenant, op.ref());
        p.put("author", author);
        p.put("op", op.opId());
        p.put("client", op.source().map(DocOp.Source::clientId).orElse(null));
        p.put("seq", op.source().map(DocOp.Source::sequence).orElse(null));
        p.put("result", result);
        p.put("version", version);
        p.put("base", op.baseVersion());
        p.put("at", Rows.timestamp(at));
        tx.createNamedInsert("op-insert", sql.opInsert).params(p).execute();
        if (op.source().isEmpty()) {
            return;
        }
        DocOp.Source source = op.source().get();
        long last = sequence.map(Sequence::lastSeq).orElse(0L);
        int gap = source.sequence() > last + 1 ? 1 : 0;
        if (gap == 1) {
            // visible in client_sequences.gaps; a lost op of this device never reached the server
            LOGGER.log(System.Logger.Level.INFO, () -> "client " + LogText.safe(source.clientId()) + " of user "
                    + author + " in tenant " + tenant + " skipped from sequence " + last + " to " + source.sequence());
        }
        Map<String, Object> s = new HashMap<>(Map.of("tenant", tenant, "client", source.clientId(),
                "seq", source.sequence(), "gap", gap, "at", Rows.timestamp(at)));
        if (sequence.isPresent()) {
            s.put("author", sequence.get().author());
            tx.createNamedUpdate("sequence-update", sql.sequenceUpdate).params(s).execute();
        } else {
            s.put("author", author);
            tx.createNamedInsert("sequence-insert", sql.sequenceInsert).params(s).execute();
        }
    }

    /** One audit entry. */
    void audit(DbTransaction tx, String tenant, DocRef ref, String action, String strategy, List<String> fields,
               String actor, Optional<String> opId, Optional<String> conflictId, long before, long after,
               JsonNode beforeData, JsonNode afterData, String reason, Instant at) {
        Map<String, Object> p = Rows.key(tenant, ref);
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
        p.put("at", Rows.timestamp(at));
        tx.createNamedInsert("audit-insert", sql.auditInsert).params(p).execute();
    }

    /** A conflict record, open. */
    void conflict(DbTransaction tx, ConflictRecord record) {
        Map<String, Object> p = Rows.key(record.tenant(), record.ref());
        p.put("cid", record.id());
        p.put("op", record.opId());
        p.put("author", record.author());
        p.put("client", record.clientId().orElse(null));
        p.put("base_version", record.baseVersion());
        p.put("server_version", record.serverVersion());
        p.put("base_data", Json.write(record.base()));
        p.put("server_data", Json.write(record.server()));
        p.put("local_data", Json.write(record.local()));
        p.put("fields", Json.write(Json.array(record.fields())));
        p.put("at", Rows.timestamp(record.createdAt()));
        tx.createNamedInsert("conflict-insert", sql.conflictInsert).params(p).execute();
    }

    /** A CloudEvents 1.0 (structured) record of the change, relayed to Kafka by the outbox relay. */
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
        Map<String, Object> p = new HashMap<>(Map.of("tenant", tenant,
                "key", tenant + "/" + doc.ref().type() + "/" + doc.ref().id(), "type", type,
                "payload", Json.write(event), "at", Rows.timestamp(at)));
        // a stream that is off is done with the row from the start
        p.put("published", kafkaOn ? null : Rows.timestamp(at));
        p.put("hooked", webhooksOn ? null : Rows.timestamp(at));
        tx.createNamedInsert("outbox-insert", sql.outboxInsert).params(p).execute();
    }

    /**
     * The after-commit notice of a change, with the channels the type publishes it to, named by
     * {@code routing}: the new data, or for a deletion the data before it (so a {@code doc.deleted}
     * reaches the channels that carried the document); and by {@code previous}, the live data
     * before the change, so a document that leaves a channel ({@code locationId} wh-7 to wh-8)
     * is also published to the channel it left, whose subscribers learn it is no longer theirs.
     * {@code previous} travels with the change: a deletion is told only to those who could read it.
     */
    static DocumentChange change(String tenant, Policy policy, Document doc, JsonNode routing, Optional<JsonNode> previous,
                                 DocumentChange.Kind kind, Optional<String> opId, Optional<String> conflictId,
                                 List<String> fields, Optional<Strategy> strategy,
                                 List<DocumentChange.Overwrite> overwritten) {
        var channels = new ArrayList<ChannelName>();
        channels.add(doc.ref().channel());
        policy.channelsFor(routing).stream().filter(c -> !channels.contains(c)).forEach(channels::add);
        previous.ifPresent(before -> policy.channelsFor(before).stream().filter(c -> !channels.contains(c))
                .forEach(channels::add));
        return new DocumentChange(tenant, doc, kind, opId, conflictId, fields, strategy, channels, overwritten, previous);
    }
}
