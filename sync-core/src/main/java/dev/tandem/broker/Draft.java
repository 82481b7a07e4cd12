package dev.tandem.broker;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

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
    private static final Pattern TYPE = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");

    /** Validates the fields. */
    public Draft {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(from, "from");
    }

    /**
     * Checks an event type as it comes from a client or a backend.
     *
     * @throws ProtocolException {@code BAD_REQUEST} unless it is 1-64 of {@code A-Z a-z 0-9 _ . : -}
     *                           and outside the reserved {@code tandem.} prefix
     */
    public static String checkType(String type) {
        if (!TYPE.matcher(type).matches()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "type must be 1-64 of A-Z a-z 0-9 _ . : -");
        }
        if (type.startsWith(RESERVED_PREFIX)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "types starting with '" + RESERVED_PREFIX
                    + "' are reserved for Tandem");
        }
        return type;
    }

    /** Event types of Tandem's own publications (presence changes) start with this. */
    public static final String RESERVED_PREFIX = "tandem.";

    /** A durable publication with a generated event id. */
    public static Draft durable(String type, JsonNode data) {
        return new Draft(type, data, false, Optional.empty(), Optional.empty());
    }
}
