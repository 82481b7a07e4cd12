package dev.tandem.gateway;

import java.util.Arrays;
import java.util.List;

import io.helidon.config.Config;

/**
 * Reads a list setting written either as a YAML list or as one comma-separated value (the
 * form environment variables and system properties take: {@code TANDEM_ORIGINS=a,b}). Helidon
 * merges both into one node, so the override has to be picked out explicitly.
 */
final class ConfigLists {
    private ConfigLists() {
    }

    static List<String> strings(Config node, List<String> defaults) {
        if (!node.exists()) {
            return defaults;
        }
        // a direct value comes from an override (environment, system property) and wins over
        // a list merged in from the YAML defaults
        java.util.Optional<String> value = node.asString().asOptional().filter(v -> !v.isBlank());
        if (value.isPresent()) {
            return Arrays.stream(value.get().split(","))
                    .map(String::trim)
                    .filter(s -> !s.isEmpty())
                    .toList();
        }
        return node.asList(String.class).orElse(defaults);
    }
}
