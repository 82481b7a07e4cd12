package dev.tandem.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * CloudEvents 1.0 structured JSON ({@code application/cloudevents+json}) to and from
 * {@link CloudEvent}. Decoding names the first problem it finds (missing {@code id}, wrong
 * {@code specversion}, non-JSON data …) in a {@link ProtocolException} with
 * {@link ErrorCode#BAD_REQUEST}; the Kafka ingest puts that message on the dead-letter record.
 * Thread-safe.
 */
public final class CloudEventCodec {
    private static final Set<String> CONTEXT = Set.of("specversion", "id", "source", "type", "subject", "time",
            "datacontenttype", "dataschema", "data", "data_base64", "tenantid", "channels");

    private final ObjectMapper mapper;

    /** A codec over the given mapper. */
    public CloudEventCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * Decodes one event.
     *
     * @throws ProtocolException {@code BAD_REQUEST} saying what is wrong
     */
    public CloudEvent decode(byte[] json) {
        JsonNode node;
        try {
            node = mapper.readTree(json);
        } catch (java.io.IOException e) {
            throw bad("not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (node == null || !node.isObject()) {
            throw bad("a structured CloudEvent must be a JSON object");
        }
        String spec = string(node, "specversion").orElseThrow(() -> bad("missing specversion"));
        if (!CloudEvent.SPEC_VERSION.equals(spec)) {
            throw bad("specversion " + spec + " is not supported (1.0 is)");
        }
        String id = string(node, "id").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing id"));
        String source = string(node, "source").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing source"));
        String type = string(node, "type").filter(s -> !s.isEmpty()).orElseThrow(() -> bad("missing type"));
        Optional<Instant> time = string(node, "time").map(t -> {
            try {
                return Instant.parse(t);
            } catch (DateTimeParseException e) {
                throw bad("time is not RFC 3339: " + t);
            }
        });
        Optional<String> contentType = string(node, "datacontenttype");
        if (contentType.isPresent() && !contentType.get().startsWith("application/json")
                && !contentType.get().endsWith("+json")) {
            throw bad("datacontenttype " + contentType.get() + " is not JSON");
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
