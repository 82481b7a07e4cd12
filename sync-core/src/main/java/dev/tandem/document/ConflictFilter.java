package dev.tandem.document;

import java.util.Objects;
import java.util.Optional;

/**
 * Which conflicts to list, newest first.
 *
 * @param type   only this document type
 * @param status only this status
 * @param limit  at most this many (1-1000)
 */
public record ConflictFilter(Optional<String> type, Optional<ConflictRecord.Status> status, int limit) {
    /** The most a listing returns. */
    public static final int MAX_LIMIT = 1000;

    /** Validates the fields. */
    public ConflictFilter {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(status, "status");
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1-" + MAX_LIMIT);
        }
    }

    /** Open conflicts of every type, up to 100. */
    public static ConflictFilter open() {
        return new ConflictFilter(Optional.empty(), Optional.of(ConflictRecord.Status.OPEN), 100);
    }

    /** Every conflict, up to 100. */
    public static ConflictFilter all() {
        return new ConflictFilter(Optional.empty(), Optional.empty(), 100);
    }
}
