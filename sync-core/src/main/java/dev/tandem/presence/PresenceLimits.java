package dev.tandem.presence;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The settings every presence store shares: how long a connection stays present without a
 * heartbeat, and how large a user's state may be (its JSON encoding, in UTF-8 bytes).
 *
 * @param ttl           time from the last join or heartbeat after which a connection is gone
 * @param maxStateBytes the largest accepted state
 */
public record PresenceLimits(Duration ttl, int maxStateBytes) {
    /** The default TTL: two missed heartbeats of a 30-second interval. */
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(60);
    /** The default largest state. */
    public static final int DEFAULT_MAX_STATE_BYTES = 1024;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** Validates the fields. */
    public PresenceLimits {
        Objects.requireNonNull(ttl, "ttl");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("presence ttl must be positive");
        }
        if (maxStateBytes < 2) {
            throw new IllegalArgumentException("presence max state bytes must be at least 2");
        }
    }

    /** The defaults. */
    public static PresenceLimits defaults() {
        return new PresenceLimits(DEFAULT_TTL, DEFAULT_MAX_STATE_BYTES);
    }

    /**
     * Encodes a state, refusing one that is too large.
     *
     * @throws ProtocolException {@code TOO_LARGE} naming the limit
     */
    public String encodeState(JsonNode state) {
        Objects.requireNonNull(state, "state");
        String json;
        try {
            json = MAPPER.writeValueAsString(state);
        } catch (JsonProcessingException e) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "presence state is not valid JSON");
        }
        int bytes = json.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxStateBytes) {
            throw new ProtocolException(ErrorCode.TOO_LARGE, "presence state is " + bytes + " bytes, the limit is "
                    + maxStateBytes);
        }
        return json;
    }

    /** Decodes a state written by {@link #encodeState}. */
    public static JsonNode decodeState(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("stored presence state is not JSON", e);
        }
    }
}
