package dev.tandem.events;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A CloudEvents 1.0 event in structured JSON mode, as backends put them on Kafka for Tandem
 * and as Tandem puts client changes on Kafka for backends.
 *
 * <p>Tandem's extension attributes: {@code tenantid} (required on inbound events: the tenant
 * whose channels the event goes to) and {@code channels} (optional: target channel names,
 * comma-separated, written as clients write them; without it the gateway's routing rules
 * decide). Other extensions are kept in {@link #extensions()}.
 *
 * @param id          unique per source; consumers de-duplicate by it
 * @param source      URI-reference of the producer, e.g. {@code /erp/inventory}
 * @param type        e.g. {@code stock.updated}
 * @param subject     the entity within the source, e.g. {@code sku/A-1@wh-7}
 * @param time        when it happened
 * @param data        the payload (JSON)
 * @param tenantId    the {@code tenantid} extension
 * @param channels    the {@code channels} extension, split
 * @param extensions  any other extension attributes, as strings
 */
public record CloudEvent(String id, String source, String type, Optional<String> subject, Optional<Instant> time,
                         JsonNode data, Optional<String> tenantId, List<String> channels,
                         Map<String, String> extensions) {
    /** The only spec version understood. */
    public static final String SPEC_VERSION = "1.0";

    /** Validates and copies the fields. */
    public CloudEvent {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(tenantId, "tenantId");
        channels = List.copyOf(channels);
        extensions = Map.copyOf(extensions);
    }
}
