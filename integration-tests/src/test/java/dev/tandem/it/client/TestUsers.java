package dev.tandem.it.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.client.Backoff;
import dev.tandem.client.TandemClient;
import dev.tandem.gateway.DevTokens;

/**
 * Users of one tenant on a development-mode gateway: their tokens, Java clients that reconnect
 * quickly, and the service REST API a backend would call (to seed and read documents).
 *
 * @param tenant  the tenant
 * @param apiPort the gateway's own port (REST; not through a proxy)
 */
record TestUsers(String tenant, int apiPort) {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    /** Reconnects within 100-400 ms, so a test's outage ends soon after the network is back. */
    static final Backoff QUICK = new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), 2, 0.5);

    /** A development token of {@code user} in the tenant. */
    String token(String user, String... roles) {
        return DevTokens.mint(DevTokens.DEV_SECRET, user, tenant, List.of(roles), Map.of(), Duration.ofHours(1),
                Optional.empty(), Optional.empty());
    }

    /** A client of {@code user} connecting to {@code port} (the gateway's, or a proxy's in front of it). */
    TandemClient.Builder client(String user, int port) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> token(user))
                .reconnect(QUICK)
                .requestTimeout(Duration.ofSeconds(5));
    }

    /** Calls the service API as the backend {@code erp}; the answer must be 200. */
    JsonNode rest(String method, String path, String body) throws Exception {
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
                .header("Authorization", "Bearer " + token("erp", "service"))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new AssertionError(method + " " + path + " answered " + res.statusCode() + ": " + res.body());
        }
        return MAPPER.readTree(res.body());
    }

    /** The stored document ({@code docType, docId, version, data …}) as the service API reads it. */
    JsonNode document(String type, String id) throws Exception {
        return rest("GET", "/api/v1/documents/" + type + "/" + id, null).path("document");
    }
}
