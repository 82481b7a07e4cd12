package dev.tandem.gateway;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The REST API answers every failure with its JSON error body, also those the server decides
 * before a route runs: a body over {@code server.max-payload-size} is {@code too_large} (413),
 * an unknown path under {@code /api/v1} is {@code not_found} (404).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestGateway node;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() {
        node = TestGateway.start(Map.of("server.max-payload-size", "2048"));
    }

    @AfterAll
    void stop() {
        node.close();
        http.close();
    }

    private static String bigBody() {
        return "{\"channel\":\"tenant\",\"type\":\"t\",\"data\":{\"x\":\"" + "a".repeat(4096) + "\"}}";
    }

    private static void assertJsonError(HttpResponse<String> res, int status, String code) throws Exception {
        assertEquals(status, res.statusCode(), res.body());
        assertTrue(res.headers().firstValue("content-type").orElse("").startsWith("application/json"),
                res.headers().toString());
        JsonNode body = JSON.readTree(res.body());
        assertEquals(code, body.path("code").asText(), res.body());
        assertTrue(body.path("message").isTextual(), res.body());
    }

    @Test
    void aBodyOverTheMaximumPayloadIsAJsonTooLarge() throws Exception {
        HttpResponse<String> res = node.post("/api/v1/publish", TestGateway.token("erp", "acme", "service"), bigBody());
        assertJsonError(res, 413, "too_large");
    }

    @Test
    void aChunkedBodyOverTheMaximumPayloadIsAJsonTooLarge() throws Exception {
        byte[] bytes = bigBody().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        HttpRequest req = HttpRequest.newBuilder(URI.create(node.http() + "/api/v1/publish"))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + TestGateway.token("erp", "acme", "service"))
                // no length known in advance: sent chunked
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes)))
                .build();
        assertJsonError(http.send(req, HttpResponse.BodyHandlers.ofString()), 413, "too_large");
    }

    @Test
    void anUnknownApiPathIsAJsonNotFound() throws Exception {
        assertJsonError(node.getInvalid("/api/v1/no-such-thing", TestGateway.token("erp", "acme", "service")), 404, "not_found");
        assertJsonError(node.postInvalid("/api/v1/publish/extra", TestGateway.token("erp", "acme", "service"), "{}"), 404,
                "not_found");
    }

    @Test
    void knownPathsStillAnswer() throws Exception {
        HttpResponse<String> res = node.post("/api/v1/publish", TestGateway.token("erp", "acme", "service"),
                "{\"channel\":\"tenant\",\"type\":\"t\",\"data\":{}}");
        assertEquals(200, res.statusCode(), res.body());
    }
}
