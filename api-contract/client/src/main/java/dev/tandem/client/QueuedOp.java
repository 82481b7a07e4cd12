package dev.tandem.client;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * An operation of the offline queue as the application sees it (a snapshot; the queue sends a
 * new one on every change of status).
 *
 * @param opId        {@code {clientId}:{seq}}: unique per client, the server's idempotency key
 * @param seq         the position in the queue; operations are sent in this order
 * @param docType     the document type
 * @param docId       the document id
 * @param baseVersion the version the edit was made on (0 creates)
 * @param change      what it changes
 * @param status      where it stands
 * @param code        the error or rejection code ({@code constraint}, {@code not_found},
 *                    {@code too_large}, {@code forbidden} …) of a rejected or failed operation
 * @param reason      why it was rejected or failed, or the last transient failure
 * @param version     the document version it produced or met
 * @param fields      the merged fields ({@code merged})
 * @param strategy    the strategy that decided a merge
 * @param conflictId  the conflict, when the policy left it to a person
 * @param attempts    send attempts so far
 * @param createdAt   when it was queued
 * @param updatedAt   when its status last changed
 * @param owner       who queued it ({@code tenant/user}), once known: never sent with another user's token
 * @param durable     whether it is in the journal (false after a storage failure: a restart would lose it)
 * @param done        whether it left the queue (finished, resolved or dismissed)
 * @param resolution  how its conflict was resolved, once it was
 * @param afterOpId   the earlier queued edit of the same document this one follows (its
 *                    predecessor), if it was unsettled when this one was queued
 * @param heldBy      the open conflict this queued edit waits for: its predecessor's (it is sent
 *                    once that conflict is resolved, dismissed or gone)
 */
public record QueuedOp(String opId, long seq, String docType, String docId, long baseVersion, DocChange change,
                       OpStatus status, Optional<String> code, Optional<String> reason, OptionalLong version,
                       List<String> fields, Optional<String> strategy, Optional<String> conflictId, int attempts,
                       Instant createdAt, Instant updatedAt, Optional<String> owner, boolean durable, boolean done,
                       Optional<Resolution> resolution, Optional<String> afterOpId, Optional<String> heldBy) {
    /** Validates the fields. */
    public QueuedOp {
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(docType, "docType");
        Objects.requireNonNull(docId, "docId");
        Objects.requireNonNull(change, "change");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(version, "version");
        fields = List.copyOf(fields);
        Objects.requireNonNull(strategy, "strategy");
        Objects.requireNonNull(conflictId, "conflictId");
        Objects.requireNonNull(createdAt, "createdAt");
        Objects.requireNonNull(updatedAt, "updatedAt");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(resolution, "resolution");
        Objects.requireNonNull(afterOpId, "afterOpId");
        Objects.requireNonNull(heldBy, "heldBy");
    }
}
