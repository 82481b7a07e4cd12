package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One allow-list of origins governs REST, SSE and the WebSocket: allowed origins get their exact
 * origin echoed and their preflights answered, others are refused; requests without an Origin
 * (backends) are untouched. (The browser's view of it is tested in Chromium by the TypeScript
 * client's end-to-end tests.)
 */
class CorsTest {
    private static final String APP = "https://app.example.com";
    private static TestGateway node;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.origins", APP));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static HttpResponse<String> send(String method, String path, Map<String, String> headers, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.gateway.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aPreflightFromAnAllowedOriginIsAnsweredWithThatExactOrigin() throws Exception {
        for (String path : new String[] {"/api/v1/publish", "/sse/send", "/sse"}) {
            HttpResponse<String> res = send("OPTIONS", path, Map.of("Origin", APP, "Access-Control-Request-Method", "POST",
                    "Access-Control-Request-Headers", "authorization, content-type"), null);
            assertEquals(204, res.statusCode(), path);
            assertEquals(APP, res.headers().firstValue("Access-Control-Allow-Origin").orElse(""), path);
            assertTrue(res.headers().firstValue("Access-Control-Allow-Headers").orElse("").contains("Authorization"));
            assertTrue(res.headers().firstValue("Access-Control-Allow-Methods").orElse("").contains("POST"));
            assertFalse(res.headers().firstValue("Access-Control-Allow-Credentials").isPresent(), "no credentials mode");
        }
    }

    @Test
    void anActualRequestFromAnAllowedOriginCarriesTheOriginAndIsServed() throws Exception {
        HttpResponse<String> res = send("POST", "/api/v1/publish", Map.of("Origin", APP, "Content-Type", "application/json",
                "Authorization", "Bearer " + TestGateway.token("erp", "acme", "service")),
                "{\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}");
        assertEquals(200, res.statusCode(), res.body());
        assertEquals(APP, res.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
        assertTrue(res.headers().allValues("Vary").stream().anyMatch(v -> v.contains("Origin")));
        HttpResponse<String> unauthorized = send("GET", "/api/v1/sync-state?user=x", Map.of("Origin", APP), null);
        assertEquals(401, unauthorized.statusCode());
        assertEquals(APP, unauthorized.headers().firstValue("Access-Control-Allow-Origin").orElse(""),
                "an error is readable by the page too");
    }

    @Test
    void anotherOriginIsRefusedOnEveryTransport() throws Exception {
        String evil = "https://evil.example";
        HttpResponse<String> preflight = send("OPTIONS", "/api/v1/publish", Map.of("Origin", evil,
                "Access-Control-Request-Method", "POST"), null);
        assertEquals(403, preflight.statusCode());
        assertFalse(preflight.headers().firstValue("Access-Control-Allow-Origin").isPresent());
        HttpResponse<String> post = send("POST", "/sse/send", Map.of("Origin", evil, "Content-Type", "application/json",
                "Authorization", "Bearer " + TestGateway.token("alice", "acme")), "{\"op\":\"ping\",\"id\":1}");
        assertEquals(403, post.statusCode());
        assertTrue(post.body().contains("forbidden"), post.body());
        HttpResponse<String> stream = send("GET", "/sse?channel=tenant&access_token=" + TestGateway.token("alice", "acme"),
                Map.of("Origin", evil), null);
        assertEquals(403, stream.statusCode());
        java.util.concurrent.ExecutionException ws = org.junit.jupiter.api.Assertions.assertThrows(
                java.util.concurrent.ExecutionException.class, () -> HTTP.newWebSocketBuilder().header("Origin", evil)
                        .subprotocols("tandem.v1").buildAsync(node.ws(), new java.net.http.WebSocket.Listener() { }).get());
        assertEquals(403, ((java.net.http.WebSocketHandshakeException) ws.getCause()).getResponse().statusCode());
    }

    @Test
    void theNodesOwnPagesAndBackendsWithoutAnOriginAreUntouched() throws Exception {
        String own = "http://127.0.0.1:" + node.gateway.port();
        HttpResponse<String> res = send("POST", "/sse/send", Map.of("Origin", own, "Content-Type", "application/json",
                "Authorization", "Bearer " + TestGateway.token("alice", "acme")), "{\"op\":\"ping\",\"id\":1}");
        assertEquals(200, res.statusCode(), res.body());
        HttpResponse<String> backend = send("POST", "/api/v1/publish", Map.of("Content-Type", "application/json",
                "Authorization", "Bearer " + TestGateway.token("erp", "acme", "service")),
                "{\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}");
        assertEquals(200, backend.statusCode());
        assertFalse(backend.headers().firstValue("Access-Control-Allow-Origin").isPresent());
    }
}
