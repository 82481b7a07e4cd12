package dev.tandem.document;

import java.util.Objects;
import java.util.Optional;

/**
 * A backend's rejection of a committed change (its {@code tandem.change.rejected} answer), handed
 * to {@link DocumentListener}s after the author's {@code change.rejected} notice was published.
 *
 * @param tenant  the tenant
 * @param author  who made the rejected change
 * @param ref     the document
 * @param version the version the change made
 * @param opId    the change's operation
 * @param reason  the backend's reason, if it gave one
 * @param revert  the new version that undid the change, when the backend asked for a revert
 */
public record Rejection(String tenant, String author, DocRef ref, long version, String opId, Optional<String> reason,
                        Optional<OpResult> revert) {
    /** Validates the fields. */
    public Rejection {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(author, "author");
        Objects.requireNonNull(ref, "ref");
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(revert, "revert");
    }
}
