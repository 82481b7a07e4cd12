package dev.tandem.document;

/**
 * Told about what a store accepted, after the transaction committed and never for a rolled-back
 * change. Called on the thread that made the change, in commit order per document on that thread;
 * it must not block for long (hand publishing to the hub). An exception thrown here is logged
 * and does not undo anything. For delivery that survives a crash, use the outbox, which is
 * written in the same transaction.
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
}
