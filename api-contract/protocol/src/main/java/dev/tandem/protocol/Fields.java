package dev.tandem.protocol;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Typed access to an object's fields, with the contract's error messages. */
record Fields(ObjectNode obj, long id) {
    JsonNode required(String name) {
        JsonNode v = obj.get(name);
        if (v == null || v.isNull()) {
            throw missing(name);
        }
        return v;
    }

    String requiredString(String name) {
        JsonNode v = required(name);
        if (!v.isTextual()) {
            throw wrongType(name, "a string");
        }
        return v.textValue();
    }

    ObjectNode requiredObject(String name) {
        JsonNode v = required(name);
        if (!v.isObject()) {
            throw wrongType(name, "an object");
        }
        return (ObjectNode) v;
    }

    long requiredNonNegativeLong(String name) {
        JsonNode v = required(name);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw wrongType(name, "a non-negative integer");
        }
        return v.asLong();
    }

    Instant requiredInstant(String name) {
        String v = requiredString(name);
        try {
            return Instant.parse(v);
        } catch (DateTimeParseException e) {
            throw wrongType(name, "an ISO-8601 instant");
        }
    }

    Optional<Long> optionalNonNegativeLong(String name) {
        return present(name) ? Optional.of(requiredNonNegativeLong(name)) : Optional.empty();
    }

    Optional<String> optionalString(String name) {
        return present(name) ? Optional.of(requiredString(name)) : Optional.empty();
    }

    Optional<Instant> optionalInstant(String name) {
        return present(name) ? Optional.of(requiredInstant(name)) : Optional.empty();
    }

    Optional<Boolean> optionalBoolean(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode v = obj.get(name);
        if (!v.isBoolean()) {
            throw wrongType(name, "a boolean");
        }
        return Optional.of(v.booleanValue());
    }

    Optional<JsonNode> optionalAny(String name) {
        return present(name) ? Optional.of(obj.get(name)) : Optional.empty();
    }

    Optional<JsonNode> optionalObject(String name) {
        return present(name) ? Optional.of(requiredObject(name)) : Optional.empty();
    }

    Optional<Position> optionalPosition(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        Fields p = new Fields(requiredObject(name), id);
        String epoch = p.requiredString("epoch");
        if (epoch.isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field '" + name + ".epoch' must not be empty");
        }
        return Optional.of(new Position(epoch, p.requiredNonNegativeLong("offset")));
    }

    private boolean present(String name) {
        JsonNode v = obj.get(name);
        return v != null && !v.isNull();
    }

    private ProtocolException missing(String name) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, id, "missing field '" + name + "'");
    }

    private ProtocolException wrongType(String name, String what) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, id, "field '" + name + "' must be " + what);
    }
}
