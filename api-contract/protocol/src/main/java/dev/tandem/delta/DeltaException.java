package dev.tandem.delta;

import java.util.Objects;

/**
 * A delta that cannot be applied to the source it was given: it is malformed, or it was made
 * against another source (a broken chain). The receiver drops its copy of the previous payload
 * and fetches a whole one again.
 */
public final class DeltaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the delta was refused; {@link #wire()} is the same word the TypeScript client uses. */
    public enum Reason {
        /** Not in the format: a bad digit, a missing separator, an unknown command, trailing bytes. */
        MALFORMED("malformed"),
        /** A copy reaches outside the source. */
        COPY_OUT_OF_RANGE("copy_out_of_range"),
        /** The result is longer or shorter than the length the delta declares. */
        SIZE_MISMATCH("size_mismatch"),
        /** The result does not have the checksum the delta declares. */
        CHECKSUM_MISMATCH("checksum_mismatch");

        private final String wire;

        Reason(String wire) {
            this.wire = wire;
        }

        /** The stable name, e.g. {@code "checksum_mismatch"}. */
        public String wire() {
            return wire;
        }
    }

    private final Reason reason;

    DeltaException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** Why the delta was refused. */
    public Reason reason() {
        return reason;
    }
}
