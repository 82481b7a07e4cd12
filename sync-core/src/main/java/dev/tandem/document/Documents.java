package dev.tandem.document;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ProtocolException;

/**
 * The document port: versioned JSON documents per tenant, reconciled by per-type policies.
 * Every call acts in the caller's tenant ({@link Principal#tenant()}); the caller's user is
 * recorded as author.
 *
 * <p>Guarantees of every implementation (held by the conformance suite):
 * <ul>
 *   <li>Each operation is atomic: its new version, history entry, applied opId, audit and outbox
 *       rows commit together or not at all; a crash never leaves half an operation.</li>
 *   <li>No lost update under any interleaving: a version is written only over the version it
 *       was computed from; a concurrent writer is re-run against the newer version.</li>
 *   <li>Idempotency: an opId seen before (within the retention) is answered
 *       {@link OpResult.Duplicate} and changes nothing.</li>
 *   <li>{@code inc} deltas on counter fields commute: any order of the same deltas gives the
 *       same value, each counted exactly once.</li>
 *   <li>Invariants are never repaired: an operation that would break one is
 *       {@link OpResult.Rejected} with {@code constraint}.</li>
 *   <li>A write hands back what it committed ({@link Written}) and publishes nothing itself.</li>
 *   <li>The {@link WriteGuard} is asked outside any transaction (no row lock, no pooled
 *       connection held), before the write, with the stored version it judged; the write
 *       re-checks that version under the row lock and, when the document moved and the outcome
 *       changed, asks again (bounded).</li>
 *   <li>OpIds are scoped to their author: the same opId sent by two users is two operations.</li>
 *   <li>A {@link WriteGuard} refusal writes nothing and leaves the opId unspent.</li>
 *   <li>An operation that names its predecessor ({@link DocOp#afterOpId()}) is judged against
 *       what its author is known to have seen (see {@link DocOp}), and is {@link OpResult.Held}
 *       (nothing written, the opId unspent) while the predecessor's conflict is open; a replay
 *       of an operation whose conflict is still open is answered with that conflict again.</li>
 *   <li>Numbers are bounded on write: a value the store accepted can always be read back.</li>
 * </ul>
 * Authorization is the caller's: the operations layer judges reads itself and writes through
 * the {@link WriteGuard} it passes, which the store consults before the write's transaction.
 */
public interface Documents extends AutoCloseable {

    /** The current version of a document, tombstones included ({@link Document#deleted()}). */
    Optional<Document> get(Principal who, DocRef ref);

    /** Applies one operation with no guard: {@code apply(who, op, WriteGuard.ALLOW)}. */
    default OpResult apply(Principal who, DocOp op) {
        return apply(who, op, WriteGuard.ALLOW);
    }

    /** Applies one operation ({@link #write}) and answers its result, dropping what it committed. */
    default OpResult apply(Principal who, DocOp op, WriteGuard guard) {
        return write(who, op, guard).value();
    }

    /**
     * Applies one operation in its own transaction. Business outcomes (including malformed or
     * oversized operations, and refusals of the guard) are results, never exceptions.
     *
     * @param guard asked before the transaction, with the stored document and what the operation
     *              would make of it; asked again when the document moved before the commit and the
     *              outcome changed
     * @return the result and what was committed, for the caller to publish
     * @throws ProtocolException {@code UNAVAILABLE} when the database cannot be reached, the
     *         document stays contended past the retry budget, or it kept changing while the guard
     *         judged (retrying later is safe: the opId makes it idempotent)
     */
    Written<OpResult> write(Principal who, DocOp op, WriteGuard guard);

    /**
     * Applies a batch of offline operations in order, each in its own transaction, and answers
     * one result per operation in the same order. A rejection or conflict never stops the rest.
     * Replaying the same batch answers {@link OpResult.Duplicate} for everything applied before.
     * An operation that follows one held earlier in the batch is held too ({@link HeldInBatch}).
     *
     * @throws ProtocolException {@code UNAVAILABLE} as {@link #apply}: the operations before the
     *         failing one are committed, it and the rest are not; replaying the whole batch later
     *         applies exactly what is missing
     */
    default List<OpResult> sync(Principal who, List<DocOp> ops) {
        List<OpResult> results = new ArrayList<>(ops.size());
        HeldInBatch held = new HeldInBatch();
        for (DocOp op : ops) {
            results.add(held.apply(op, o -> apply(who, o)));
        }
        return results;
    }

    /**
     * Resolves an open manual conflict of the caller's tenant with a new version of the
     * document, audited. The same resolution repeated by its resolver (the reply was lost)
     * answers the first outcome again, while the version it wrote is kept.
     *
     * @return the new version and the resolved record
     * @throws ProtocolException {@code NOT_FOUND} for an unknown conflict; {@code CONFLICT} when
     *         it is already resolved or stale (the document moved on: the record becomes stale);
     *         {@code BAD_REQUEST} when the merged data is invalid or breaks an invariant
     */
    default Resolved resolve(Principal who, String conflictId, Resolution resolution) {
        return settle(who, conflictId, resolution, WriteGuard.ALLOW).value();
    }

    /** Resolves ({@link #settle}) and answers the resolution, dropping what it committed. */
    default Resolved resolve(Principal who, String conflictId, Resolution resolution, WriteGuard guard) {
        return settle(who, conflictId, resolution, guard).value();
    }

    /**
     * Resolves an open manual conflict like {@link #resolve(Principal, String, Resolution)},
     * asking {@code guard} first, outside the transaction (with the conflict's author and the data
     * the resolution writes), as {@link #write} does.
     *
     * @return the resolution and the committed version, for the caller to publish
     * @throws ProtocolException {@code FORBIDDEN} with the guard's reason when it refuses; nothing
     *         changes then
     */
    Written<Resolved> settle(Principal who, String conflictId, Resolution resolution, WriteGuard guard);

    /** The caller's tenant's conflicts matching the filter, newest first. */
    List<ConflictRecord> listConflicts(Principal who, ConflictFilter filter);

    /** How many open conflicts of the caller's tenant {@code author} has (counted by the database). */
    long countOpenConflicts(Principal who, String author);

    /**
     * One page of the caller's tenant's live documents of a type whose field equals a value,
     * ordered by id (see {@link DocumentQuery}).
     *
     * @throws ProtocolException {@code BAD_REQUEST} for a cursor this store did not make
     */
    DocumentQuery.Page query(Principal who, DocumentQuery query);

    /**
     * The channels a type's changes are published to besides {@code doc:{type}:{id}}, as
     * configured ({@code location:{locationId}}: templates whose {@code {field}} comes from the data).
     */
    List<String> channelTemplates(String type);

    /** One conflict of the caller's tenant. */
    Optional<ConflictRecord> getConflict(Principal who, String conflictId);

    /** The document's audit trail, oldest first, at most {@code limit} (1-1000) newest entries. */
    List<AuditEntry> audit(Principal who, DocRef ref, int limit);

    /**
     * One page of the document's history, newest first: versions (as kept) and the audit entries
     * about them (see {@link History}).
     *
     * @throws ProtocolException {@code BAD_REQUEST} for a cursor this store did not make
     */
    History.Page history(Principal who, DocRef ref, History.Query query);

    /**
     * Undoes the change that made {@code version}: a new version with the data of the version
     * before it (or a tombstone when {@code version} created the document), written as op
     * {@code opId} through the normal versioned path (outbox, the change handed back, audit of the op).
     *
     * @return {@code applied} with the new version (and the change to publish); {@code rejected}
     *         with code {@code conflict} when the document has changed since {@code version}
     *         (nothing is undone then, e.g. a revert seen twice), or {@code not_found}
     */
    Written<OpResult> revert(Principal who, DocRef ref, long version, String opId);

    /** Releases the store's resources. */
    @Override
    void close();

    /**
     * A successful resolution.
     *
     * @param document the version the resolution produced
     * @param conflict the resolved record
     */
    record Resolved(Document document, ConflictRecord conflict) {
        /** Validates the fields. */
        public Resolved {
            java.util.Objects.requireNonNull(document, "document");
            java.util.Objects.requireNonNull(conflict, "conflict");
        }
    }
}
