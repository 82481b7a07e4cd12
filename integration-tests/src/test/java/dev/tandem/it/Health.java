package dev.tandem.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads a {@code /health/ready} body. */
final class Health {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Health() {
    }

    /** Whether the named check is reported DOWN in a health body. */
    static boolean down(String body, String check) {
        try {
            for (JsonNode c : JSON.readTree(body).path("checks")) {
                if (check.equals(c.path("name").asText())) {
                    return "DOWN".equals(c.path("status").asText());
                }
            }
            return false;
        } catch (Exception e) {
            return false;
        }
    }
}
