package dev.tandem.broker;

import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A publication before the broker has accepted it.
 *
 * @param type      the event type, e.g. {@code stock.updated}
 * @param data      the payload
 * @param ephemeral whether it skips history and offsets (typing, cursor)
 * @param eventId   the source's event id when it has one; otherwise the broker makes one
 * @param from      the publishing user, for client publications
 */
public record Draft(String type, JsonNode data, boolean ephemeral, Optional<String> eventId, Optional<String> from) {
    /** Validates the fields. */
    public Draft {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(from, "from");
    }

    /** A durable publication with a generated event id. */
    public static Draft durable(String type, JsonNode data) {
        return new Draft(type, data, false, Optional.empty(), Optional.empty());
    }
}
