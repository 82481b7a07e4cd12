package dev.tandem.charts;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpServer;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;
import io.helidon.config.Config;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static dev.tandem.charts.Chart.asList;
import static dev.tandem.charts.Chart.asMap;
import static dev.tandem.charts.Chart.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Starts the real gateway with the configuration a rendered pod would have (ConfigMap file,
 * environment, Secret references resolved to stand-ins) and calls what the chart points at:
 * every probe path on the container port must answer 200, {@code /metrics} (the
 * ServiceMonitor's path) must serve the {@code tandem_connections} metric the HPA scales on,
 * and every metric the Grafana dashboard queries must exist in the gateway's real output once
 * traffic has flowed. This is the check that probes, ports and environment match what the
 * gateway really serves.
 */
class GatewayMatchesChartTest {
    private static final String SECRET = "chart-test-shared-secret-of-at-least-32-bytes";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static HttpServer jwksServer;
    private static final AtomicInteger JWKS_HITS = new AtomicInteger();

    @TempDir
    Path work;

    @BeforeAll
    static void startJwksServer() throws IOException {
        // stands in for the identity provider of the production values (a JWKS without keys)
        jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwksServer.createContext("/jwks.json", ex -> {
            JWKS_HITS.incrementAndGet();
            byte[] body = "{\"keys\":[]}".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        jwksServer.start();
    }

    @AfterAll
    static void stopJwksServer() {
        jwksServer.stop(0);
    }

    @Test
    void defaultsServeTheProbesMetricsAndDashboardQueries() throws Exception {
        Chart.Rendered r = Chart.renderDefaults();
        PodEnvironment pod = new PodEnvironment(r, Map.of("tandem-auth/hs256-secret", SECRET), work);
        assertEquals(SECRET, pod.secretEnv().get("TANDEM_AUTH_HS256_dash_SECRET"));
        try (Gateway gateway = start(r, pod)) {
            String base = "http://127.0.0.1:" + gateway.port();
            assertProbesAnswer(r, base);

            // traffic, so that the tagged meters the dashboard reads exist
            driveTraffic(gateway.port(), base);

            Set<String> wanted = new TreeSet<>(dashboardMetrics(Chart.render(Chart.productionValues())));
            wanted.removeIf(n -> n.startsWith("tandem_kafka_")); // registered only with Kafka on: next test
            wanted.add("tandem_connections");           // the HPA's custom metric
            assertTrue(wanted.size() > 8, "the dashboard queries " + wanted);
            String metrics = waitForMetrics(base, wanted);
            for (String name : wanted) {
                assertTrue(hasMetric(metrics, name), "the dashboard queries " + name
                        + " but the gateway's /metrics does not serve it");
            }
        }
    }

    /**
     * The production values with the two endpoints this machine cannot have swapped for local
     * ones through the chart's own values: the identity provider (a local JWKS server) and
     * Kafka (a free local port with no broker: the gateway starts without one, and its readiness
     * must say so). Every other value, and all of the rendering, is the production file's.
     */
    @Test
    void productionValuesServeTheProbesAndTheClusterMetrics() throws Exception {
        String jwks = "http://127.0.0.1:" + jwksServer.getAddress().getPort() + "/jwks.json";
        // Redis and PostgreSQL: this machine's real ones, in a database of the test's own
        dev.tandem.testing.TestServices.Postgres pg = dev.tandem.testing.TestServices.postgres();
        try (var c = pg.connect(); var st = c.createStatement()) {
            st.execute("CREATE DATABASE tandem_chart_test");
        } catch (java.sql.SQLException e) {
            // already there from an earlier run: its schema is migrated, which is fine
        }
        String url = pg.jdbcUrl().replaceFirst("/[^/?]+(\\?|$)", "/tandem_chart_test$1");
        Chart.Rendered r = new Chart.Rendered(Chart.template(Chart.productionValues(), Map.of(
                "auth.jwks.url", jwks,
                "kafka.bootstrapServers", "127.0.0.1:" + freePort(),
                "redis.address", dev.tandem.testing.TestServices.redis(),
                "redis.existingSecret", "",
                "postgres.url", url)));
        PodEnvironment pod = new PodEnvironment(r, Map.of("tandem-kafka/sasl-jaas-config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"tandem\" password=\"stand-in\";",
                "tandem-postgres/username", pg.user(),
                "tandem-postgres/password", pg.password()),
                work);
        int before = JWKS_HITS.get();
        try (Gateway gateway = start(r, pod)) {
            String base = "http://127.0.0.1:" + gateway.port();
            assertProbesAnswer(r, base, List.of("startupProbe", "livenessProbe"));
            // no broker behind the rendered bootstrap address: the pod must not take traffic
            String ready = (String) get(r.container(), "readinessProbe.httpGet.path");
            HttpResponse<String> res = httpGet(base + ready);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (res.statusCode() != 503 && System.nanoTime() < deadline) {
                Thread.sleep(200);
                res = httpGet(base + ready);
            }
            assertEquals(503, res.statusCode(), res.body());
            assertTrue(res.body().contains("{\"name\":\"kafka\",\"status\":\"DOWN\""), res.body());
            assertTrue(res.body().contains("{\"name\":\"engine\",\"status\":\"UP\""), res.body());
            assertTrue(JWKS_HITS.get() > before, "the gateway did not load the JWKS from the rendered tandem.auth.jwks-url");
            Set<String> kafkaPanels = new TreeSet<>(dashboardMetrics(r));
            kafkaPanels.removeIf(n -> !n.startsWith("tandem_kafka_"));
            assertFalse(kafkaPanels.isEmpty(), "the dashboard has Kafka panels");
            kafkaPanels.add("tandem_connections");
            String metrics = waitForMetrics(base, kafkaPanels);
            for (String name : kafkaPanels) {
                assertTrue(hasMetric(metrics, name), "the dashboard queries " + name + " but /metrics lacks it");
            }
        }
    }

    /**
     * Starts the gateway with the pod's configuration. The rendered port must be the one the
     * container declares; only when something on this machine already holds it does the test
     * move the gateway to a free port (a fact of the test machine, not of the chart).
     */
    private static Gateway start(Chart.Rendered r, PodEnvironment pod) {
        Config config = pod.config(Map.of());
        int port = config.get("server.port").asInt().get();
        assertEquals(r.containerPort("http"), port, "server.port must be the container port");
        return Gateway.start(portFree(port) ? config : pod.config(Map.of("server.port", "0")));
    }

    private static void assertProbesAnswer(Chart.Rendered r, String base) throws Exception {
        assertProbesAnswer(r, base, List.of("startupProbe", "livenessProbe", "readinessProbe"));
    }

    private static void assertProbesAnswer(Chart.Rendered r, String base, List<String> probes) throws Exception {
        Map<String, Object> c = r.container();
        for (String probe : probes) {
            String path = (String) get(c, probe + ".httpGet.path");
            // like the kubelet, give a starting node a few periods before calling it failed
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            HttpResponse<String> res = httpGet(base + path);
            while (res.statusCode() != 200 && System.nanoTime() < deadline) {
                Thread.sleep(200);
                res = httpGet(base + path);
            }
            assertEquals(200, res.statusCode(), probe + " " + path + " answered " + res.statusCode() + " " + res.body());
        }
    }

    /**
     * A user connects, subscribes (one good, one unknown channel), a backend publishes through
     * REST, the user gets the event and leaves.
     */
    private static void driveTraffic(int port, String base) throws Exception {
        String user = DevTokens.mint(SECRET, "alice", "acme", List.of(), Map.of(), Duration.ofMinutes(5),
                Optional.empty(), Optional.empty());
        String service = DevTokens.mint(SECRET, "erp", "acme", List.of("service"), Map.of(), Duration.ofMinutes(5),
                Optional.empty(), Optional.empty());
        BlockingQueue<String> frames = new LinkedBlockingQueue<>();
        WebSocket ws = HTTP.newWebSocketBuilder()
                .header("Authorization", "Bearer " + user)
                .buildAsync(URI.create("ws://127.0.0.1:" + port + "/ws"), new Collector(frames))
                .get(10, TimeUnit.SECONDS);
        await(frames, "\"op\":\"welcome\"");
        ws.sendText("{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\"}", true).get(5, TimeUnit.SECONDS);
        await(frames, "\"op\":\"reply\"");
        ws.sendText("{\"op\":\"subscribe\",\"id\":2,\"channel\":\"nope:1\"}", true).get(5, TimeUnit.SECONDS);
        await(frames, "\"op\":\"error\"");
        HttpResponse<String> published = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/publish"))
                .header("Authorization", "Bearer " + service)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"channel\":\"tenant\",\"type\":\"stock.updated\",\"data\":{\"sku\":\"A-1\",\"qty\":7}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, published.statusCode(), published.body());
        await(frames, "\"op\":\"event\"");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }

    /** Metric names in the dashboard's queries (histogram series keep their _bucket suffix). */
    static Set<String> dashboardMetrics(Chart.Rendered r) {
        Map<String, Object> cm = r.all("ConfigMap").stream()
                .filter(c -> c.get("data") instanceof Map<?, ?> d && d.containsKey("tandem.json"))
                .findFirst().orElseThrow(() -> new AssertionError("no Grafana dashboard ConfigMap"));
        Object dashboard = Chart.yaml().load((String) asMap(cm.get("data")).get("tandem.json"));
        Set<String> names = new TreeSet<>();
        Pattern metric = Pattern.compile("\\b((?:tandem|memory)_[A-Za-z_]+)\\b(?!\\s*\\()");
        for (Object p : asList(get(dashboard, "panels"))) {
            for (Object t : asList(asMap(p).get("targets"))) {
                Matcher m = metric.matcher((String) asMap(t).get("expr"));
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    /** Polls /metrics until every wanted name shows up (closing a socket is counted asynchronously). */
    private static String waitForMetrics(String base, Set<String> wanted) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String body;
        do {
            HttpResponse<String> res = httpGet(base + "/metrics");
            assertEquals(200, res.statusCode());
            body = res.body();
            String text = body;
            if (wanted.stream().allMatch(n -> hasMetric(text, n))) {
                break;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        return body;
    }

    /** Whether a Prometheus exposition has a sample of that series name. */
    static boolean hasMetric(String exposition, String name) {
        return Pattern.compile("(?m)^" + Pattern.quote(name) + "[{ ]").matcher(exposition).find();
    }

    private static HttpResponse<String> httpGet(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static void await(BlockingQueue<String> frames, String marker) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String f = frames.poll(100, TimeUnit.MILLISECONDS);
            if (f != null && f.contains(marker)) {
                return;
            }
        }
        throw new AssertionError("no frame with " + marker + " within 10 s");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Collects whole text frames. */
    private static final class Collector implements WebSocket.Listener {
        private final BlockingQueue<String> frames;
        private final StringBuilder partial = new StringBuilder();

        Collector(BlockingQueue<String> frames) {
            this.frames = frames;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                frames.add(partial.toString());
                partial.setLength(0);
            }
            ws.request(1);
            return null;
        }
    }
}
