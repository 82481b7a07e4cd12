package dev.tandem.document;

/**
 * Told about what a store accepted ({@link Written#tell}), after the transaction committed and
 * never for a rolled-back change, and about a backend's rejection of such a change: the operations layer tells its publisher once the author has
 * been answered. For delivery that survives a crash, use the outbox, which is written in the same
 * transaction.
 */
public interface DocumentListener {

    /** A new version was committed. */
    void changed(DocumentChange change);

    /**
     * A manual conflict was recorded; the author's devices should get a {@code conflict} frame
     * ({@link ConflictRecord#toJson()}).
     */
    default void conflicted(ConflictRecord conflict) {
    }

    /**
     * A backend rejected a committed change; the author's devices got a {@code change.rejected}
     * event on their {@code user:} channel.
     */
    default void rejected(Rejection rejection) {
    }
}
