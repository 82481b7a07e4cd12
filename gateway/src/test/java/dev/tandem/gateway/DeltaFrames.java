package dev.tandem.gateway;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.delta.Fossil;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the delta-subscription tests share: the payload they publish and how a client applies an event. */
final class DeltaFrames {
    private DeltaFrames() {
    }

    /** An inventory line as the demo board publishes it, one field changed per event. */
    static String stock(int i) {
        return "{\"sku\":\"A-1\",\"name\":\"Anvil, forged, 20 kg\",\"location\":\"wh-7\",\"bin\":\"R12-S3\","
                + "\"qty\":" + (100 - i) + ",\"reserved\":" + (i % 5) + ",\"updatedBy\":\"scanner-04\"}";
    }

    /** Applies one delta-subscription event to the payload held before it; returns the new payload text. */
    static String apply(String held, JsonNode e) {
        assertTrue(e.path("data").isTextual(), "a delta subscription's data is a string: " + e);
        if (!e.path("delta").asBoolean()) {
            return e.path("data").textValue();
        }
        assertTrue(held != null, "a delta needs the payload before it: " + e);
        return new String(Fossil.apply(held.getBytes(StandardCharsets.UTF_8),
                e.path("data").textValue().getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
