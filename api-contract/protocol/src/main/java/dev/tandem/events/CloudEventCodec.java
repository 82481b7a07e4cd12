package dev.tandem.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.Echo;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;

/**
 * CloudEvents 1.0 structured JSON ({@code application/cloudevents+json}) to and from
 * {@link CloudEvent}. Decoding reads the bytes as the gateway reads every input (strict UTF-8,
 * one finite JSON value: {@link FrameCodec#parse(byte[])}) and names the first problem it finds
 * (missing {@code id}, wrong {@code specversion}, non-JSON data …) in a {@link ProtocolException}
 * with {@link ErrorCode#BAD_REQUEST}; the Kafka ingest puts that message on the dead-letter
 * record. A value of the event that a message repeats is quoted and cut ({@link Echo}).
 * Thread-safe.
 */
public final class CloudEventCodec {
    private static final Set<String> CONTEXT = Set.of("specversion", "id", "source", "type", "subject", "time",
            "datacontenttype", "dataschema", "data", "data_base64", "tenantid", "channels");

    private final FrameCodec codec;
    private final ObjectMapper mapper;

    /** A codec reading and writing JSON as {@code codec} does. */
    public CloudEventCodec(FrameCodec codec) {
        this.codec = codec;
        this.mapper = codec.mapper();
    }

    /**
     * Decodes one event.
     *
     * @throws ProtocolException {@code BAD_REQUEST} saying what is wrong
     */
    public CloudEvent decode(byte[] json) {
        JsonNode node = codec.parse(json);
        if (!node.isObject()) {
            throw bad("a structured CloudEvent must be a JSON object");
        }
        String spec = string(node, "specversion").orElseThrow(() -> bad("missing specversion"));
        if (!CloudEvent.SPEC_VERSION.equals(spec)) {
            throw bad("specversion " + Echo.quoted(spec) + " is not supported (1.0 is)");
        }
        String id = string(node, "id").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing id"));
        String source = string(node, "source").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing source"));
        String type = string(node, "type").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing type"));
        Optional<Instant> time = string(node, "time").map(t -> {
            try {
                return Instant.parse(t);
            } catch (DateTimeParseException e) {
                throw bad("time is not RFC 3339: " + Echo.quoted(t));
            }
        });
        Optional<String> contentType = string(node, "datacontenttype");
        if (contentType.isPresent() && !isJson(contentType.get())) {
            throw bad("datacontenttype " + Echo.quoted(contentType.get()) + " is not JSON");
        }
        if (node.has("data_base64")) {
            throw bad("data_base64 is not supported; send JSON data");
        }
        JsonNode data = node.has("data") ? node.get("data") : mapper.nullNode();
        List<String> channels = new ArrayList<>();
        JsonNode ch = node.get("channels");
        if (ch != null && !ch.isNull()) {
            if (ch.isTextual()) {
                Arrays.stream(ch.textValue().split(",")).map(String::trim).filter(s -> !s.isEmpty())
                        .forEach(channels::add);
            } else if (ch.isArray()) {
                for (JsonNode c : ch) {
                    if (!c.isTextual()) {
                        throw bad("channels must be a comma-separated string (or an array of strings)");
                    }
                    channels.add(c.textValue());
                }
            } else {
                throw bad("channels must be a comma-separated string");
            }
        }
        Map<String, String> extensions = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!CONTEXT.contains(field.getKey()) && field.getValue().isValueNode()) {
                extensions.put(field.getKey(), field.getValue().asText());
            }
        }
        return new CloudEvent(id, source, type, string(node, "subject"), time, data, string(node, "tenantid"),
                channels, extensions);
    }

    /** Encodes an event as structured JSON. */
    public byte[] encode(CloudEvent e) {
        ObjectNode o = mapper.createObjectNode();
        o.put("specversion", CloudEvent.SPEC_VERSION);
        o.put("id", e.id());
        o.put("source", e.source());
        o.put("type", e.type());
        e.subject().ifPresent(s -> o.put("subject", s));
        e.time().ifPresent(t -> o.put("time", t.toString()));
        o.put("datacontenttype", "application/json");
        e.tenantId().ifPresent(t -> o.put("tenantid", t));
        if (!e.channels().isEmpty()) {
            o.put("channels", String.join(",", e.channels()));
        }
        e.extensions().forEach(o::put);
        o.set("data", e.data());
        try {
            return mapper.writeValueAsString(o).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * Whether a media type is JSON: {@code application/json} or a {@code +json} suffix, with any
     * parameters; media types are case-insensitive (RFC 9110, section 8.3.1).
     */
    static boolean isJson(String mediaType) {
        int semicolon = mediaType.indexOf(';');
        String type = (semicolon >= 0 ? mediaType.substring(0, semicolon) : mediaType).trim().toLowerCase(Locale.ROOT);
        return type.equals("application/json") || (type.endsWith("+json") && type.indexOf('/') > 0);
    }

    private static Optional<String> string(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw bad(field + " must be a string");
        }
        return Optional.of(v.textValue());
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
