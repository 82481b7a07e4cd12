package dev.tandem.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

/** One gateway node of a test cluster, started in this JVM on its own port. */
final class Node implements AutoCloseable {
    static final String SECRET = DevTokens.DEV_SECRET;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    final Gateway gateway;
    final String name;

    private Node(String name, Gateway gateway) {
        this.name = name;
        this.gateway = gateway;
    }

    static Node start(String name, Map<String, String> cluster) {
        Map<String, String> all = new HashMap<>(cluster);
        all.put("server.port", "0");
        all.put("server.host", "127.0.0.1");
        all.put("tandem.node-id", name);
        all.put("tandem.dev-mode", "true");
        all.put("tandem.drain-timeout", "PT5S");
        Config config = Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(all), ConfigSources.classpath("application.yaml")).build();
        return new Node(name, Gateway.start(config));
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + gateway.port() + "/ws");
    }

    static String token(String user, String tenant, Map<String, List<String>> scopes, String... roles) {
        return DevTokens.mint(SECRET, user, tenant, List.of(roles), scopes, Duration.ofHours(1), Optional.empty(),
                Optional.empty());
    }

    HttpResponse<String> post(String path, String token, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.port() + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        gateway.stop();
    }
}
