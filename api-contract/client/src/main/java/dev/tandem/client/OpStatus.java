package dev.tandem.client;

import java.util.Arrays;
import java.util.Optional;

/**
 * Where a queued document operation stands: {@code queued → sending → applied | merged |
 * duplicate | conflict | rejected | failed}.
 *
 * <p>{@link #APPLIED}, {@link #MERGED} and {@link #DUPLICATE} are done: the operation leaves the
 * queue. {@link #CONFLICT} waits for a resolution (or a dismissal); {@link #REJECTED} (the server
 * refused the operation, e.g. an invariant) and {@link #FAILED} (it could not be sent: too large,
 * refused as a whole, queued by another user) stay in the queue until dismissed, so the
 * application can show them; a failed operation can be retried.
 */
public enum OpStatus {
    /** Stored, waiting to be sent. */
    QUEUED("queued"),
    /** In a {@code sync} batch that has not been answered yet. */
    SENDING("sending"),
    /** Applied at its base version. */
    APPLIED("applied"),
    /** Applied after merging with concurrent changes (the type's policy decided). */
    MERGED("merged"),
    /** The server had already applied this opId (a replay): nothing changed. */
    DUPLICATE("duplicate"),
    /** A manual conflict that waits for {@code resolve}. */
    CONFLICT("conflict"),
    /** Refused by the server (code and reason say why); stays until dismissed. */
    REJECTED("rejected"),
    /** Could not be sent; stays until dismissed or retried. */
    FAILED("failed");

    private final String wire;

    OpStatus(String wire) {
        this.wire = wire;
    }

    /** The status as the protocol and the TypeScript client name it. */
    public String wire() {
        return wire;
    }

    /** Whether the operation still waits to be sent or answered. */
    public boolean isPending() {
        return this == QUEUED || this == SENDING;
    }

    /** Whether the operation is finished and leaves the queue by itself. */
    public boolean isDone() {
        return this == APPLIED || this == MERGED || this == DUPLICATE;
    }

    /** The status with this wire name, if any. */
    public static Optional<OpStatus> fromWire(String wire) {
        return Arrays.stream(values()).filter(s -> s.wire.equals(wire)).findFirst();
    }
}
