package dev.tandem.conflict;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.Documents;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.dbclient.DbTransaction;

/**
 * One resolution of a manual conflict inside its transaction: the record and head (locked once
 * the guard has judged), the stale check, the data the resolution writes, the verdict of the
 * caller's {@link WriteGuard} on it ({@link Verdicts}), invariants and bounds, then the new
 * version, the resolved record and the audit entry.
 */
final class Resolver {
    private final Sql sql;
    private final VersionWriter writer;
    private final Applier applier;

    Resolver(Sql sql, VersionWriter writer, Applier applier) {
        this.sql = sql;
        this.writer = writer;
        this.applier = applier;
    }

    /**
     * Resolves; the value is the {@link Documents.Resolved}, or the {@code CONFLICT} error of a
     * stale record (committed: the record is marked stale).
     *
     * @throws Verdicts.Unjudged when the guard must be asked about the resolution first
     */
    Written<Object> resolve(DbTransaction tx, Principal who, String conflictId, Resolution resolution,
                            Policies policies, Verdicts verdicts, Instant at) {
        String tenant = who.tenant();
        boolean lock = verdicts.locking();
        ConflictRecord record = tx.createNamedGet(lock ? "conflict-lock" : "conflict-get",
                        lock ? sql.conflictLock : sql.conflictGet)
                .params(Map.of("tenant", tenant, "cid", conflictId)).execute().map(Rows::conflict)
                .orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND, "no such conflict"));
        switch (record.status()) {
            case RESOLVED -> {
                Optional<Documents.Resolved> again = repeated(tx, who, record, resolution);
                if (again.isPresent()) {
                    return Written.of(again.get());
                }
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
        Optional<Rows.Head> head = tx.createNamedGet(lock ? "head-lock" : "head-get", lock ? sql.headLock : sql.headGet)
                .params(Rows.key(tenant, ref)).execute().map(Rows::head);
        if (head.isEmpty() || head.get().version() != record.serverVersion()) {
            tx.createNamedUpdate("conflict-stale", sql.conflictStale)
                    .params(Map.of("tenant", tenant, "cid", conflictId)).execute();
            return Written.of(new ProtocolException(ErrorCode.CONFLICT, "conflict " + conflictId
                    + " is stale: " + ref + " is at version " + head.map(Rows.Head::version).orElse(0L)
                    + ", the conflict was about version " + record.serverVersion() + "; read the document and edit again"));
        }
        Rows.Head h = head.get();
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
        Optional<WriteGuard.Refusal> refused = verdicts.of(new WriteGuard.Write(who, ref, Optional.of(h.document(ref)),
                deleted ? new WriteGuard.Change.Delete() : new WriteGuard.Change.Put(data), Optional.of(conflictId),
                Optional.of(record.author())));
        if (refused.isPresent()) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, refused.get().reason());
        }
        if (!deleted) {
            Optional<String> broken = Merger.violation(policy, h.data(), data);
            if (broken.isPresent()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "the resolution breaks an invariant: " + broken.get());
            }
            Optional<String> tooLarge = applier.tooLarge(data);
            if (tooLarge.isPresent()) {
                throw new ProtocolException(ErrorCode.TOO_LARGE, tooLarge.get());
            }
        }
        Document doc = writer.write(tx, tenant, ref, head, data, deleted, "resolve:" + conflictId, Optional.empty(),
                who.user(), at, "resolved", record.fields(), Optional.empty(), Optional.of(resolution.kind().wire()));
        tx.createNamedUpdate("conflict-resolve", sql.conflictResolve).params(Map.of("tenant", tenant, "cid", conflictId,
                "resolution", resolution.kind().wire(), "by", who.user(), "at", Rows.timestamp(at),
                "version", doc.version())).execute();
        writer.audit(tx, tenant, ref, "resolve", resolution.kind().wire(), record.fields(), who.user(),
                Optional.of(record.opId()), Optional.of(conflictId), h.version(), doc.version(), h.data(),
                deleted ? NullNode.getInstance() : data, "", at);
        ConflictRecord resolved = new ConflictRecord(record.id(), record.tenant(), ref, record.opId(), record.author(),
                record.clientId(), record.baseVersion(), record.serverVersion(), record.base(), record.server(),
                record.local(), record.fields(), ConflictRecord.Status.RESOLVED, record.createdAt(),
                Optional.of(new ConflictRecord.Outcome(resolution.kind(), who.user(), at, doc.version())));
        return new Written<>(new Documents.Resolved(doc, resolved), Optional.of(VersionWriter.change(
                tenant, policy, doc, deleted ? h.data() : data, h.deleted() ? Optional.empty() : Optional.<JsonNode>of(h.data()),
                DocumentChange.Kind.RESOLVED, Optional.empty(),
                Optional.of(conflictId), record.fields(), Optional.empty(), java.util.List.of())), Optional.empty());
    }

    /**
     * The first outcome again when the resolver repeats their resolution (its reply was lost):
     * the same user, the same kind and, for a merge, the same data, while the version it wrote is
     * still kept. Anything else is a second resolution, refused.
     */
    private Optional<Documents.Resolved> repeated(DbTransaction tx, Principal who, ConflictRecord record,
                                                  Resolution resolution) {
        ConflictRecord.Outcome o = record.outcome().orElseThrow();
        if (!o.by().equals(who.user()) || o.resolution() != resolution.kind()) {
            return Optional.empty();
        }
        Map<String, Object> p = Rows.key(who.tenant(), record.ref());
        p.put("version", o.version());
        Optional<Merger.Version> written = tx.createNamedGet("version-row", sql.versionRow).params(p).execute()
                .map(Rows::version);
        Optional<Rows.Head> head = tx.createNamedGet("head-get", sql.headGet).params(Rows.key(who.tenant(), record.ref()))
                .execute().map(Rows::head);
        if (written.isEmpty() || head.isEmpty()
                || resolution.data().isPresent() && !Json.same(resolution.data().get(), written.get().data())) {
            return Optional.empty();
        }
        Merger.Version v = written.get();
        return Optional.of(new Documents.Resolved(new Document(record.ref(), v.version(), v.data(), v.at(), v.by(),
                head.get().createdBy(), v.deleted()), record));
    }
}
