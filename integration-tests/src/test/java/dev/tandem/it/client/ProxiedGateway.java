package dev.tandem.it.client;

import java.util.HashMap;
import java.util.Map;

import dev.tandem.gateway.Gateway;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

/**
 * A gateway started in this JVM on a free port (development mode, the given settings over the
 * bundled {@code application.yaml}), behind a {@link CuttableProxy} the client tests connect
 * through to cut and refuse connections.
 */
record ProxiedGateway(Gateway gateway, CuttableProxy proxy) implements AutoCloseable {
    static ProxiedGateway start(Map<String, String> settings) throws Exception {
        Map<String, String> all = new HashMap<>(Map.of("server.port", "0", "server.host", "127.0.0.1",
                "tandem.dev-mode", "true"));
        all.putAll(settings);
        Config config = Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(all), ConfigSources.classpath("application.yaml"))
                .build();
        Gateway gateway = Gateway.start(config);
        return new ProxiedGateway(gateway, new CuttableProxy(gateway.port()));
    }

    @Override
    public void close() {
        proxy.close();
        gateway.stop();
    }
}
