package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

/**
 * A real gateway on an ephemeral port for tests, with the bundled defaults plus overrides, and
 * helpers to mint tokens and call its HTTP side.
 */
final class TestGateway implements AutoCloseable {
    static final String SECRET = DevTokens.DEV_SECRET;

    final Gateway gateway;
    private final HttpClient http = HttpClient.newHttpClient();

    private TestGateway(Gateway gateway) {
        this.gateway = gateway;
    }

    static TestGateway start(Map<String, String> overrides) {
        Map<String, String> all = new HashMap<>();
        all.put("server.port", "0");
        all.put("server.host", "127.0.0.1");
        all.put("tandem.node-id", "test-node");
        all.put("tandem.drain-timeout", "PT5S");
        all.put("tandem.dev-mode", "true");
        // each test gateway gets its own document database
        all.put("tandem.documents.db.url", "jdbc:h2:mem:gw-" + java.util.UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        all.putAll(overrides);
        Config config = Config.builder()
                .disableEnvironmentVariablesSource()
                .disableSystemPropertiesSource()
                .sources(ConfigSources.create(all), ConfigSources.classpath("application.yaml"))
                .build();
        return new TestGateway(Gateway.start(config));
    }

    static TestGateway start() {
        return start(Map.of());
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + gateway.port() + "/ws");
    }

    String http() {
        return "http://127.0.0.1:" + gateway.port();
    }

    /** A service principal of the tenant, for calling the operations layer directly. */
    static dev.tandem.auth.Principal service(String tenant) {
        return new dev.tandem.auth.Principal(tenant, "backend", java.util.Set.of("service"), Map.of(),
                java.util.Optional.empty());
    }

    static String token(String user, String tenant, String... roles) {
        return DevTokens.mint(SECRET, user, tenant, List.of(roles), Map.of(), Duration.ofHours(1),
                java.util.Optional.empty(), java.util.Optional.empty());
    }

    static String token(String user, String tenant, Map<String, List<String>> scopes, Duration ttl) {
        return DevTokens.mint(SECRET, user, tenant, List.of(), scopes, ttl, java.util.Optional.empty(),
                java.util.Optional.empty());
    }

    /**
     * POSTs a body the test means to be valid. Under {@code /api/v1} the request body and the
     * response (status and body) are held to the OpenAPI contract, at {@code /sse/send} the body
     * to the client frames and the answer to the server frames of the AsyncAPI contract; a
     * violation fails the test, naming the request or response.
     */
    HttpResponse<String> post(String path, String token, String body) throws Exception {
        checkRequest("POST", path, body);
        return checkResponse("POST", path, rawPost(path, token, body));
    }

    /**
     * POSTs input that is bad on purpose (malformed or schema-breaking body, unknown path): the
     * request is not validated, the response is (where the contract has the operation).
     */
    HttpResponse<String> postInvalid(String path, String token, String body) throws Exception {
        return checkResponse("POST", path, rawPost(path, token, body));
    }

    /**
     * POSTs a body given as bytes, bad on purpose (e.g. not UTF-8): the request is not validated,
     * the response is (where the contract has the operation).
     */
    HttpResponse<String> postBytes(String path, String token, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return checkResponse("POST", path, http.send(b.build(), HttpResponse.BodyHandlers.ofString()));
    }

    private HttpResponse<String> rawPost(String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** GETs without a token; under {@code /api/v1} the response is held to the OpenAPI contract. */
    HttpResponse<String> get(String path) throws Exception {
        checkRequest("GET", path, null);
        return checkResponse("GET", path, http.send(HttpRequest.newBuilder(URI.create(http() + path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString()));
    }

    /** GETs with a bearer token; under {@code /api/v1} the response is held to the OpenAPI contract. */
    HttpResponse<String> get(String path, String token) throws Exception {
        checkRequest("GET", path, null);
        return checkResponse("GET", path, rawGet(path, token));
    }

    /** GETs a path that is wrong on purpose (unknown route): only the response is validated, where documented. */
    HttpResponse<String> getInvalid(String path, String token) throws Exception {
        return checkResponse("GET", path, rawGet(path, token));
    }

    private HttpResponse<String> rawGet(String path, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(http() + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    // ------------------------------------------------------------------ contract checks

    private static final dev.tandem.contracts.Contracts CONTRACTS = dev.tandem.contracts.Contracts.load();

    /**
     * Service operations the gateway has but the OpenAPI document does not describe yet (reported
     * to the lead for api-contract). Only while the document lacks them are they left unvalidated:
     * once it gains an operation, its requests and responses are validated like every other.
     */
    private static final List<java.util.regex.Pattern> PENDING_IN_CONTRACT = List.of();

    private static String pathOnly(String path) {
        int q = path.indexOf('?');
        return q < 0 ? path : path.substring(0, q);
    }

    private static boolean documented(String method, String path) {
        List<String> probe = CONTRACTS.restResponseErrors(method, path, 599, "");
        return probe.isEmpty() || !probe.getFirst().startsWith("the contract has no operation");
    }

    private static boolean pending(String method, String path) {
        String key = method + " " + pathOnly(path);
        return !documented(method, path) && PENDING_IN_CONTRACT.stream().anyMatch(p -> p.matcher(key).matches());
    }

    private static void checkRequest(String method, String path, String body) {
        String p = pathOnly(path);
        if (p.equals("/sse/send")) {
            CONTRACTS.assertClientFrame(body);
        } else if (p.startsWith("/api/v1/") && !pending(method, path)) {
            CONTRACTS.assertRestRequest(method, path, body);
        }
    }

    private static HttpResponse<String> checkResponse(String method, String path, HttpResponse<String> res) {
        String p = pathOnly(path);
        if (p.equals("/sse/send")) {
            if (res.headers().firstValue("Content-Type").orElse("").startsWith("application/json")) {
                List<String> errors = CONTRACTS.serverFrameErrors(res.body());
                if (!errors.isEmpty()) {
                    throw new AssertionError("POST /sse/send answer does not conform to the contract: "
                            + String.join("; ", errors) + "\n  " + res.body());
                }
            }
        } else if (p.startsWith("/api/v1/") && documented(method, path)) {
            List<String> errors = CONTRACTS.restResponseErrors(method, path, res.statusCode(), res.body());
            if (!errors.isEmpty()) {
                throw new AssertionError(method + " " + path + " response " + res.statusCode()
                        + " does not conform to the contract: " + String.join("; ", errors) + "\n  " + res.body());
            }
        }
        return res;
    }

    /**
     * The sum of the values of a Prometheus metric at /metrics: every line whose name is
     * {@code name} and whose labels contain {@code labelPart} (empty: any).
     */
    double metric(String name, String labelPart) throws Exception {
        return get("/metrics").body().lines()
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .filter(l -> l.contains(labelPart))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    /** Publishes through the REST API as a service of the tenant; fails the test on a non-200. */
    String publish(String tenant, String channel, String type, String dataJson) throws Exception {
        HttpResponse<String> res = post("/api/v1/publish", token("backend", tenant, "service"),
                "{\"channel\":\"" + channel + "\",\"type\":\"" + type + "\",\"data\":" + dataJson + "}");
        if (res.statusCode() != 200) {
            throw new AssertionError("publish failed: " + res.statusCode() + " " + res.body());
        }
        return res.body();
    }

    @Override
    public void close() {
        gateway.stop();
        http.close();
    }
}
