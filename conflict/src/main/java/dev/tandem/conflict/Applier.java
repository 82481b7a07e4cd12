package dev.tandem.conflict;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Edit;
import dev.tandem.document.OpResult;
import dev.tandem.document.Strategy;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;

import io.helidon.dbclient.DbRow;
import io.helidon.dbclient.DbTransaction;

/**
 * One operation inside its transaction: the duplicate check (by the author's opId and device
 * sequence), the head (locked once the guard has judged), the predecessor the operation follows
 * ({@link EarlierOps}), the history back to the base, {@link Merger}'s decision, the verdict of
 * the caller's {@link WriteGuard} on that outcome ({@link Verdicts}: asked outside the
 * transaction when it blocks), the bounds on size and numbers, and the rows of the outcome.
 */
final class Applier {
    private final Sql sql;
    private final VersionWriter writer;
    private final EarlierOps earlier;
    private final Numbers numbers;
    private final int maxDocumentBytes;

    Applier(Sql sql, VersionWriter writer, Numbers numbers, int maxDocumentBytes) {
        this.sql = sql;
        this.writer = writer;
        this.earlier = new EarlierOps(sql);
        this.numbers = numbers;
        this.maxDocumentBytes = maxDocumentBytes;
    }

    /**
     * Checks what can be checked without the database: the operation's size and its numbers.
     *
     * @return the rejection, or empty to go on
     */
    Optional<OpResult> precheck(DocOp op) {
        int size = editSize(op.edit());
        if (size > maxDocumentBytes) {
            return Optional.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE, "the operation has " + size
                    + " bytes, more than " + maxDocumentBytes));
        }
        Optional<String> bad = switch (op.edit()) {
            case Edit.Replace r -> numbers.check(r.data());
            case Edit.Patch p -> Stream.concat(p.set().values().stream().map(numbers::check),
                            Stream.of(numbers.checkDeltas(p.inc())))
                    .flatMap(Optional::stream).findFirst();
            case Edit.Delete d -> Optional.empty();
        };
        return bad.map(reason -> new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE, reason));
    }

    /**
     * Runs the operation. Without a verdict for its outcome yet (a blocking guard's first round),
     * it reads without locking and stops at the guard.
     *
     * @throws Verdicts.Unjudged when the guard must be asked about the outcome first
     */
    Written<OpResult> apply(DbTransaction tx, Principal who, DocOp sent, Policy policy, String origin,
                            Verdicts verdicts, Instant at) {
        String tenant = who.tenant();
        String author = who.user();
        DocRef ref = sent.ref();
        Optional<Rows.Row> seen = earlier.seen(tx, tenant, author, sent.opId());
        if (seen.isPresent()) {
            return Written.of(earlier.replay(tx, tenant, author, sent, seen.get()));
        }
        DocOp op = sent;
        Optional<VersionWriter.Sequence> sequence = op.source().isEmpty() ? Optional.empty()
                : writer.sequence(tx, tenant, author, op.source().get().clientId());
        boolean lock = verdicts.locking();
        Optional<Rows.Head> head = tx.createNamedGet(lock ? "head-lock" : "head-get", lock ? sql.headLock : sql.headGet)
                .params(Rows.key(tenant, ref)).execute().map(Rows::head);
        if (sequence.isPresent() && op.source().get().sequence() <= sequence.get().prunedThrough()) {
            // its applied_ops row was pruned: older than the retention, so it was seen before
            return Written.of(new OpResult.Duplicate(op.opId(),
                    head.map(Rows.Head::version).orElse(0L), Optional.empty()));
        }
        if (op.afterOpId().isPresent()) {
            // read under the head's lock: a resolution of the predecessor's conflict either
            // committed before (its version is seen) or waits for this transaction
            switch (earlier.predecessor(tx, tenant, author, ref, op.afterOpId().get())) {
                case EarlierOps.Standing.Waiting w -> {
                    if (!lock) {
                        throw verdicts.relock(); // held is answered only under the head's lock
                    }
                    return Written.of(new OpResult.Held(op.opId(), w.conflict().id()));
                }
                case EarlierOps.Standing.Knows k -> op = op.rebased(Math.max(op.baseVersion(), k.version()));
                case EarlierOps.Standing.Nothing n -> {
                    // judged on its own base version
                }
            }
        }
        List<Merger.Version> history = List.of();
        if (head.isPresent() && !head.get().deleted() && op.baseVersion() < head.get().version()) {
            Map<String, Object> p = Rows.key(tenant, ref);
            p.put("from", Math.max(op.baseVersion(), 1));
            try (Stream<DbRow> rows = tx.createNamedQuery("history", sql.history).params(p).execute()) {
                history = rows.map(Rows::version).toList();
            }
        }
        Merger.Decision decision = Merger.decide(policy, head.map(Rows.Head::current), history, op, origin, at);

        Optional<WriteGuard.Refusal> refused = verdicts.of(new WriteGuard.Write(who, ref,
                head.map(h -> h.document(ref)), change(decision), Optional.empty(), Optional.empty()));
        if (refused.isPresent()) {
            // nothing written, nothing recorded: the opId stays unspent
            return Written.of(new OpResult.Rejected(op.opId(), refused.get().code(),
                    refused.get().reason()));
        }
        Optional<String> unbounded = resultNumbers(op, decision);
        if (unbounded.isPresent()) {
            return Written.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE,
                    "the result is out of bounds: " + unbounded.get()));
        }

        long currentVersion = head.map(Rows.Head::version).orElse(0L);
        ObjectNode currentData = head.map(Rows.Head::data).orElse(Json.object());
        switch (decision) {
            case Merger.Decision.Reject r when !r.recorded() -> {
                return Written.of(new OpResult.Rejected(op.opId(), r.code(), r.reason()));
            }
            case Merger.Decision.Reject r -> {
                writer.audit(tx, tenant, ref, "reject", policy.strategy().wire(), List.of(), author,
                        Optional.of(op.opId()), Optional.empty(), currentVersion, currentVersion, currentData,
                        currentData, r.reason(), at);
                writer.recordOp(tx, tenant, author, op, sequence, "rejected", currentVersion, at);
                return Written.of(new OpResult.Rejected(op.opId(), r.code(), r.reason()));
            }
            case Merger.Decision.Apply a -> {
                Optional<String> tooLarge = tooLarge(a.data());
                if (tooLarge.isPresent()) {
                    return Written.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE,
                            tooLarge.get()));
                }
                Document doc = writer.write(tx, tenant, ref, head, a.data(), a.deleted(), origin, Optional.of(op.opId()),
                        author, at, "applied", List.of(), Optional.empty(), Optional.empty());
                writer.recordOp(tx, tenant, author, op, sequence, "applied", doc.version(), at);
                return new Written<>(new OpResult.Applied(op.opId(), doc), Optional.of(
                        VersionWriter.change(tenant, policy, doc, a.deleted() ? currentData : a.data(),
                                previous(head), DocumentChange.Kind.APPLIED, Optional.of(op.opId()), Optional.empty(), List.of(),
                                Optional.empty(), List.of())), Optional.empty());
            }
            case Merger.Decision.Merge m -> {
                Optional<String> tooLarge = tooLarge(m.data());
                if (tooLarge.isPresent()) {
                    return Written.of(new OpResult.Rejected(op.opId(), OpResult.Rejected.TOO_LARGE,
                            tooLarge.get()));
                }
                Document doc = writer.write(tx, tenant, ref, head, m.data(), m.deleted(), origin, Optional.of(op.opId()),
                        author, at, "merged", m.fields(), Optional.of(m.strategy()), Optional.empty());
                writer.audit(tx, tenant, ref, "merge", m.strategy().wire(), m.fields(), author, Optional.of(op.opId()),
                        Optional.empty(), currentVersion, doc.version(), currentData,
                        m.deleted() ? NullNode.getInstance() : m.data(), "", at);
                writer.recordOp(tx, tenant, author, op, sequence, "merged", doc.version(), at);
                return new Written<>(new OpResult.Merged(op.opId(), doc, m.fields(), m.strategy()),
                        Optional.of(VersionWriter.change(tenant, policy, doc, m.deleted() ? currentData : m.data(),
                                previous(head), DocumentChange.Kind.MERGED, Optional.of(op.opId()), Optional.empty(), m.fields(),
                                Optional.of(m.strategy()), overwrites(author, m, currentData))), Optional.empty());
            }
            case Merger.Decision.Keep k -> {
                Rows.Head h = head.orElseThrow();
                writer.audit(tx, tenant, ref, "merge", k.strategy().wire(), k.fields(), author, Optional.of(op.opId()),
                        Optional.empty(), currentVersion, currentVersion, currentData, currentData, "", at);
                writer.recordOp(tx, tenant, author, op, sequence, "merged", currentVersion, at);
                return Written.of(new OpResult.Merged(op.opId(), h.document(ref), k.fields(),
                        k.strategy()));
            }
            case Merger.Decision.Hold hold -> {
                Rows.Head h = head.orElseThrow();
                JsonNode base = op.baseVersion() == 0 ? Json.object() : baseOf(history, op.baseVersion());
                ConflictRecord record = new ConflictRecord("cf-" + UUID.randomUUID(), tenant, ref, op.opId(), author,
                        op.source().map(DocOp.Source::clientId), op.baseVersion(), h.version(), base, h.data(),
                        hold.local(), hold.fields(), ConflictRecord.Status.OPEN, at, Optional.empty());
                writer.conflict(tx, record);
                writer.audit(tx, tenant, ref, "conflict", Strategy.MANUAL.wire(), hold.fields(), author,
                        Optional.of(op.opId()), Optional.of(record.id()), currentVersion, currentVersion, currentData,
                        hold.local(), "", at);
                writer.recordOp(tx, tenant, author, op, sequence, "conflict", currentVersion, at);
                return new Written<>(new OpResult.Conflict(op.opId(), record), Optional.empty(),
                        Optional.of(record));
            }
        }
    }

    /** The live data before a change (none for a new or deleted document). */
    private static Optional<JsonNode> previous(Optional<Rows.Head> head) {
        return head.filter(h -> !h.deleted()).map(h -> (JsonNode) h.data());
    }

    /** What the decision would do, as the guard sees it. */
    private static WriteGuard.Change change(Merger.Decision decision) {
        return switch (decision) {
            case Merger.Decision.Apply a -> a.deleted() ? new WriteGuard.Change.Delete() : new WriteGuard.Change.Put(a.data());
            case Merger.Decision.Merge m -> m.deleted() ? new WriteGuard.Change.Delete() : new WriteGuard.Change.Put(m.data());
            case Merger.Decision.Hold h -> h.local() instanceof ObjectNode local ? new WriteGuard.Change.Propose(local)
                    : new WriteGuard.Change.Delete();
            case Merger.Decision.Keep k -> new WriteGuard.Change.None();
            case Merger.Decision.Reject r -> new WriteGuard.Change.None();
        };
    }

    /** The fields an {@code inc} computed, checked in the data the decision would write. */
    private Optional<String> resultNumbers(DocOp op, Merger.Decision decision) {
        if (!(op.edit() instanceof Edit.Patch p) || p.inc().isEmpty()) {
            return Optional.empty();
        }
        JsonNode result = switch (decision) {
            case Merger.Decision.Apply a -> a.data();
            case Merger.Decision.Merge m -> m.data();
            case Merger.Decision.Hold h -> h.local();
            case Merger.Decision.Keep k -> null;
            case Merger.Decision.Reject r -> null;
        };
        if (result == null) {
            return Optional.empty();
        }
        for (String field : p.inc().keySet()) {
            Optional<String> bad = numbers.check(result.get(field));
            if (bad.isPresent()) {
                return Optional.of(field + ": " + bad.get());
            }
        }
        return Optional.empty();
    }

    /** The values of other users that a last-write-wins or client-wins merge replaced, per user. */
    private static List<DocumentChange.Overwrite> overwrites(String author, Merger.Decision.Merge m, ObjectNode before) {
        Map<String, List<String>> byUser = new TreeMap<>();
        m.overwrote().forEach((field, user) -> {
            if (!user.equals(author) && !user.isEmpty()) {
                byUser.computeIfAbsent(user, u -> new ArrayList<>()).add(field);
            }
        });
        List<DocumentChange.Overwrite> result = new ArrayList<>();
        byUser.forEach((user, fields) -> {
            ObjectNode lost = Json.object();
            ObjectNode winning = Json.object();
            for (String f : fields) {
                if (before.has(f)) {
                    lost.set(f, before.get(f).deepCopy());
                }
                if (!m.deleted() && m.data().has(f)) {
                    winning.set(f, m.data().get(f).deepCopy());
                }
            }
            result.add(new DocumentChange.Overwrite(user, fields, lost, winning));
        });
        return result;
    }

    Optional<String> tooLarge(ObjectNode data) {
        int size = Json.write(data).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        return size > maxDocumentBytes
                ? Optional.of("the document would have " + size + " bytes, more than " + maxDocumentBytes)
                : Optional.empty();
    }

    private static JsonNode baseOf(List<Merger.Version> history, long baseVersion) {
        return history.stream().filter(v -> v.version() == baseVersion).findFirst()
                .<JsonNode>map(Merger.Version::data).orElse(Json.object());
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
        return Json.write(payload).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }
}
