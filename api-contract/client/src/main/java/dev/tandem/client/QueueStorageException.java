package dev.tandem.client;

import java.util.Objects;

/**
 * The offline queue's storage failed. Reported to {@link Documents.Listener#storageError}; an
 * operation whose write failed is kept in memory ({@link QueuedOp#durable()} false) and nothing
 * already stored is lost. Thrown by {@link TandemClient.Builder#build()} when the journal cannot
 * be opened.
 */
public final class QueueStorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    public enum Kind {
        /** The disk (or the journal's configured size limit) is full. */
        FULL,
        /** Any other read or write failure. */
        IO,
        /** The journal holds a record that cannot be read (not a torn last line, which is dropped). */
        CORRUPT,
        /** Another client (in this or another process) has the journal open. */
        IN_USE
    }

    private final Kind kind;

    /** A failure of the given kind. */
    public QueueStorageException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind");
    }

    /** What went wrong. */
    public Kind kind() {
        return kind;
    }
}
