package dev.tandem.protocol;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * The {@code event} frame, the one sent most: written field by field (no tree is built), its
 * {@code data} spliced in as already-written JSON text so a payload is serialized once however
 * many frames carry it.
 *
 * <p>The frame keeps what resuming needs ({@code channel}, {@code epoch}, {@code offset}) and
 * leaves out what is empty or derivable: {@code eventId} only when the publisher gave one,
 * {@code from} only for client publications, {@code ephemeral: true} instead of a position,
 * {@code delta} only on delta subscriptions. {@code ts} is the accept time in milliseconds since
 * the Unix epoch (a number every client reads without a date parser).
 */
final class EventFrames {
    private EventFrames() {
    }

    /**
     * Writes {@code e} with {@code dataText} as its data: JSON text written as is for
     * {@link ServerFrame.Event.Form#PAYLOAD}, otherwise the text of the string {@code data} holds.
     */
    static String encode(JsonFactory factory, ServerFrame.Event e, String dataText) {
        StringWriter out = new StringWriter(dataText.length() + 128);
        try (JsonGenerator g = factory.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("op", "event");
            g.writeStringField("channel", e.channel());
            if (e.position().isPresent()) {
                g.writeStringField("epoch", e.position().get().epoch());
                g.writeNumberField("offset", e.position().get().offset());
            } else {
                g.writeBooleanField("ephemeral", true);
            }
            g.writeStringField("type", e.type());
            if (e.eventId().isPresent()) {
                g.writeStringField("eventId", e.eventId().get());
            }
            g.writeNumberField("ts", e.time().toEpochMilli());
            if (e.from().isPresent()) {
                g.writeStringField("from", e.from().get());
            }
            switch (e.form()) {
                case PAYLOAD -> {
                    g.writeFieldName("data");
                    g.writeRawValue(dataText);
                }
                case TEXT, FOSSIL -> {
                    g.writeBooleanField("delta", e.form() == ServerFrame.Event.Form.FOSSIL);
                    g.writeStringField("data", dataText);
                }
            }
            g.writeEndObject();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        return out.toString();
    }

    /** Reads an {@code event} frame's fields. */
    static ServerFrame.Event decode(Fields f) {
        Optional<Position> position = f.optionalBoolean("ephemeral").orElse(false)
                ? Optional.empty()
                : Optional.of(new Position(f.requiredString("epoch"), f.requiredNonNegativeLong("offset")));
        Optional<Boolean> delta = f.optionalBoolean("delta");
        ServerFrame.Event.Form form = delta.isEmpty() ? ServerFrame.Event.Form.PAYLOAD
                : delta.get() ? ServerFrame.Event.Form.FOSSIL : ServerFrame.Event.Form.TEXT;
        JsonNode data = form == ServerFrame.Event.Form.PAYLOAD ? f.required("data")
                : com.fasterxml.jackson.databind.node.TextNode.valueOf(f.requiredString("data"));
        return new ServerFrame.Event(f.requiredString("channel"), position, f.requiredString("type"),
                f.optionalString("eventId"), Instant.ofEpochMilli(f.requiredNonNegativeLong("ts")),
                f.optionalString("from"), data, form);
    }
}
