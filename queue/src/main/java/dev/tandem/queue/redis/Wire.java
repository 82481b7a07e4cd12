package dev.tandem.queue.redis;

import java.time.Instant;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;

/**
 * The stored and broadcast form of a publication: a JSON body ({@code type, id, time, from,
 * data}, and {@code gen} for a generated id) without the position, because the position is decided inside the Lua script; the
 * script prefixes pub/sub messages with {@code epoch|offset|} (ephemeral ones travel as
 * {@code ~|0|body}) and stores durable ones under stream id {@code offset-0}.
 */
public final class Wire {
    /** The prefix of an ephemeral publication's pub/sub message. */
    public static final String EPHEMERAL_PREFIX = "~|0|";

    private final ObjectMapper mapper;

    /** A wire writing JSON with {@code mapper}. */
    public Wire(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * The stored and broadcast body of a publication; a generated event id is marked
     * ({@code "gen": true}) so that event frames leave it out.
     */
    public String body(String type, String eventId, boolean eventIdGiven, Instant time, Optional<String> from,
                       JsonNode data) {
        ObjectNode o = mapper.createObjectNode();
        o.put("type", type);
        o.put("id", eventId);
        if (!eventIdGiven) {
            o.put("gen", true);
        }
        o.put("time", time.toString());
        from.ifPresent(f -> o.put("from", f));
        o.set("data", data);
        try {
            return mapper.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a publication", e);
        }
    }

    /** A publication from its stored body. */
    public Publication decode(ChannelKey channel, Optional<Position> position, String body) {
        try {
            JsonNode o = mapper.readTree(body);
            return new Publication(channel, position, o.get("type").asText(), o.get("id").asText(),
                    Instant.parse(o.get("time").asText()),
                    o.hasNonNull("from") ? Optional.of(o.get("from").asText()) : Optional.empty(),
                    o.get("data"), 0, !o.path("gen").asBoolean(false));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new IllegalArgumentException("malformed stored publication on " + channel, e);
        }
    }

    /** Decodes a pub/sub message {@code epoch|offset|body}. */
    public Publication decodeMessage(ChannelKey channel, String message) {
        int a = message.indexOf('|');
        int b = message.indexOf('|', a + 1);
        if (a < 0 || b < 0) {
            throw new IllegalArgumentException("malformed live message on " + channel);
        }
        String epoch = message.substring(0, a);
        Optional<Position> position = epoch.equals("~") ? Optional.empty()
                : Optional.of(new Position(epoch, Long.parseLong(message.substring(a + 1, b))));
        return decode(channel, position, message.substring(b + 1));
    }
}
