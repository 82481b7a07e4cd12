package dev.tandem.protocol;

import java.util.Objects;

/**
 * A place in a channel's stream: the channel's current {@code epoch} and an {@code offset}
 * within it. Offsets start at 1 and grow by one per durable publication; a new epoch means
 * the history before it is gone and positions from older epochs cannot be recovered.
 *
 * @param epoch  the channel's epoch id, never empty
 * @param offset the offset, 0 meaning "before the first publication"
 */
public record Position(String epoch, long offset) {
    /** Validates the fields. */
    public Position {
        Objects.requireNonNull(epoch, "epoch");
        if (epoch.isEmpty()) {
            throw new IllegalArgumentException("epoch must not be empty");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset must not be negative");
        }
    }
}
