package dev.tandem.document;

import java.util.Objects;
import java.util.Optional;

/**
 * What a committed write of a {@link Documents} store produced: the caller's answer, and what the
 * caller publishes once it has answered (the new version, a recorded manual conflict). The store
 * publishes nothing itself; it hands this back after the commit.
 *
 * @param value    the answer ({@link OpResult}, {@link Documents.Resolved})
 * @param change   the committed new version, if one was written
 * @param conflict the manual conflict recorded, if one was
 * @param <T>      the answer's type
 */
public record Written<T>(T value, Optional<DocumentChange> change, Optional<ConflictRecord> conflict) {
    /** Validates the fields. */
    public Written {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(change, "change");
        Objects.requireNonNull(conflict, "conflict");
    }

    /** An answer with nothing to publish. */
    public static <T> Written<T> of(T value) {
        return new Written<>(value, Optional.empty(), Optional.empty());
    }

    /** Tells the listener what was committed (nothing for an answer that wrote nothing). */
    public void tell(DocumentListener listener) {
        change.ifPresent(listener::changed);
        conflict.ifPresent(listener::conflicted);
    }
}
