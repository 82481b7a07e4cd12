package dev.tandem.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.spi.ConfigSource;

/**
 * Loads the gateway configuration. Sources, first wins: system properties, environment
 * variables ({@code TANDEM_LIMITS_BURST} for {@code tandem.limits.burst}; a dash in a key is
 * written {@code _dash_}, e.g. {@code TANDEM_AUTH_HS256_dash_SECRET}), the file named by
 * {@code -Dtandem.config.file} or {@code TANDEM_CONFIG_FILE}, and the defaults in the
 * bundled {@code application.yaml}.
 */
final class GatewayConfig {
    private GatewayConfig() {
    }

    static Config load() {
        List<Supplier<? extends ConfigSource>> sources = new ArrayList<>();
        sources.add(ConfigSources.systemProperties());
        sources.add(ConfigSources.environmentVariables());
        String file = System.getProperty("tandem.config.file", System.getenv("TANDEM_CONFIG_FILE"));
        if (file != null && !file.isBlank()) {
            if (!Files.isReadable(Path.of(file))) {
                throw new IllegalArgumentException("configuration file " + file + " is not readable");
            }
            sources.add(ConfigSources.file(file));
        }
        sources.add(ConfigSources.classpath("application.yaml"));
        return Config.builder()
                .disableSystemPropertiesSource()
                .disableEnvironmentVariablesSource()
                .sources(sources)
                .build();
    }
}
