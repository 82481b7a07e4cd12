package dev.tandem.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.tandem.gateway.DevTokens;

/**
 * The fan-out benchmark: N WebSocket connections subscribed to one channel, M publications
 * through the REST API at a fixed rate; prints connect time, deliveries per second,
 * publish-to-deliver latency (p50/p99/max, measured from just before the REST call to the
 * moment a client has the frame, on one clock) and server heap per connection.
 *
 * <p>By default it starts a standalone gateway as a child process (so the heap figure is the
 * server's alone, measured after a forced GC before and after connecting) and stops it at the
 * end. With {@code --url} it targets a running gateway instead (no heap figure).
 *
 * <pre>
 * ./tandem bench [--connections 2000] [--publications 200] [--rate 50] [--payload 100]
 *                [--url ws://host:port/ws --http http://host:port --secret S]
 * </pre>
 */
public final class FanoutBenchmark {
    private static final String TENANT = "bench";

    private FanoutBenchmark() {
    }

    /** Options, with defaults. */
    record Options(int connections, int publications, int rate, int payload, Optional<String> url,
                   Optional<String> http, String secret) {
        static Options parse(String[] args) {
            Map<String, String> m = Bench.options(args);
            return new Options(Integer.parseInt(m.getOrDefault("connections", "2000")),
                    Integer.parseInt(m.getOrDefault("publications", "200")),
                    Integer.parseInt(m.getOrDefault("rate", "50")),
                    Integer.parseInt(m.getOrDefault("payload", "100")),
                    Optional.ofNullable(m.get("url")),
                    Optional.ofNullable(m.get("http")),
                    m.getOrDefault("secret", DevTokens.DEV_SECRET));
        }
    }

    /** What one run measured. */
    record Result(int connections, int publications, long expectedDeliveries, long deliveries,
                  double connectSeconds, double deliverySeconds, long p50Nanos, long p99Nanos, long maxNanos,
                  Optional<Long> heapPerConnectionBytes) {
        double deliveriesPerSecond() {
            return deliveries / deliverySeconds;
        }
    }

    /**
     * Runs the benchmark and prints its figures.
     *
     * @param args see the class description
     */
    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Result r = run(o);
        print(o, r);
        if (r.deliveries() != r.expectedDeliveries()) {
            System.exit(1);
        }
    }

    static void print(Options o, Result r) {
        System.out.printf(Locale.ROOT, "Tandem fan-out benchmark (%d cores, %s %s, JDK %s)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "  connections            %d subscribed to one channel%n", r.connections());
        System.out.printf(Locale.ROOT, "  publications           %d via REST at %d/s, %d-byte payload%n",
                r.publications(), o.rate(), o.payload());
        System.out.printf(Locale.ROOT, "  connect+auth+subscribe %.2f s total, %.2f ms per connection%n",
                r.connectSeconds(), r.connectSeconds() * 1000 / r.connections());
        System.out.printf(Locale.ROOT, "  deliveries             %d of %d in %.2f s = %.0f deliveries/s%n",
                r.deliveries(), r.expectedDeliveries(), r.deliverySeconds(), r.deliveriesPerSecond());
        System.out.printf(Locale.ROOT, "  publish->deliver       p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                r.p50Nanos() / 1e6, r.p99Nanos() / 1e6, r.maxNanos() / 1e6);
        r.heapPerConnectionBytes().ifPresent(b -> System.out.printf(Locale.ROOT,
                "  server heap            %.1f KiB per connection (after GC)%n", b / 1024.0));
    }

    static Result run(Options o) throws Exception {
        Optional<Process> server = Optional.empty();
        String ws;
        String http;
        if (o.url().isPresent()) {
            ws = o.url().get();
            http = o.http().orElse(ws.replaceFirst("^ws", "http").replaceFirst("/ws$", ""));
        } else {
            int port = Bench.freePort();
            server = Optional.of(Bench.startServer(port, List.of()));
            ws = "ws://127.0.0.1:" + port + "/ws";
            http = "http://127.0.0.1:" + port;
            Bench.waitForReady(http);
        }
        try {
            return measure(o, ws, http, server);
        } finally {
            server.ifPresent(p -> {
                p.destroy();
                try {
                    p.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                p.destroyForcibly();
            });
        }
    }

    private static Result measure(Options o, String ws, String http, Optional<Process> server) throws Exception {
        int n = o.connections();
        int m = o.publications();
        long[] latencies = new long[n * m];
        AtomicInteger recorded = new AtomicInteger();
        AtomicLong lastDelivery = new AtomicLong();
        CountDownLatch allDelivered = new CountDownLatch(n * m);
        HttpClient client = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        Optional<Long> heapBefore = server.map(p -> usedHeapAfterGc(p, http));

        String token = DevTokens.mint(o.secret(), "bench-client", TENANT, List.of(), Map.of(), Duration.ofHours(2),
                Optional.empty(), Optional.empty());
        List<WebSocket> sockets = new ArrayList<>(n);
        long connectStart = System.nanoTime();
        List<CompletableFuture<Void>> subscribed = new ArrayList<>(n);
        int batch = 200;
        for (int i = 0; i < n; i += batch) {
            List<CompletableFuture<WebSocket>> opening = new ArrayList<>();
            for (int j = i; j < Math.min(n, i + batch); j++) {
                CompletableFuture<Void> sub = new CompletableFuture<>();
                subscribed.add(sub);
                opening.add(client.newWebSocketBuilder()
                        .header("Authorization", "Bearer " + token)
                        .subprotocols("tandem.v1")
                        .connectTimeout(Duration.ofSeconds(30))
                        .buildAsync(URI.create(ws), new Bench.Receiver(sub, latencies, recorded, lastDelivery, allDelivered)));
            }
            for (CompletableFuture<WebSocket> f : opening) {
                WebSocket s = f.get(60, TimeUnit.SECONDS);
                s.sendText("{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\"}", true);
                sockets.add(s);
            }
        }
        CompletableFuture.allOf(subscribed.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
        Optional<Long> heapAfter = server.map(p -> usedHeapAfterGc(p, http));

        String serviceToken = DevTokens.mint(o.secret(), "bench-service", TENANT, List.of("service"), Map.of(),
                Duration.ofHours(2), Optional.empty(), Optional.empty());
        String pad = "x".repeat(Math.max(0, o.payload() - 40));
        long intervalNanos = 1_000_000_000L / Math.max(1, o.rate());
        // warm-up: the same traffic, not measured, so JIT compilation is not in the figures
        int warmup = Math.min(m, 50);
        for (int i = 0; i < warmup; i++) {
            publish(client, http, serviceToken, "{\"channel\":\"tenant\",\"type\":\"warmup\",\"data\":{\"pad\":\""
                    + pad + "\"}}");
            TimeUnit.NANOSECONDS.sleep(intervalNanos);
        }
        Thread.sleep(500);
        long start = System.nanoTime();
        for (int i = 0; i < m; i++) {
            long due = start + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            String body = "{\"channel\":\"tenant\",\"type\":\"bench\",\"data\":{\"t\":" + System.nanoTime()
                    + ",\"pad\":\"" + pad + "\"}}";
            publish(client, http, serviceToken, body);
        }
        allDelivered.await(Math.max(30, m / Math.max(1, o.rate()) * 3L), TimeUnit.SECONDS);
        double deliverySeconds = (lastDelivery.get() - start) / 1e9;
        int count = Math.min(recorded.get(), latencies.length);
        long[] sorted = Arrays.copyOf(latencies, count);
        Arrays.sort(sorted);
        for (WebSocket s : sockets) {
            s.abort();
        }
        client.close();
        Optional<Long> perConnection = heapBefore.flatMap(b -> heapAfter.map(a -> Math.max(0, a - b) / n));
        return new Result(n, m, (long) n * m, count, connectSeconds, deliverySeconds,
                Bench.percentile(sorted, 0.50), Bench.percentile(sorted, 0.99), count == 0 ? 0 : sorted[count - 1], perConnection);
    }

    private static void publish(HttpClient client, String http, String token, String body) throws Exception {
        HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create(http + "/api/v1/publish"))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) {
            throw new IllegalStateException("publish failed: " + res.statusCode() + " " + res.body());
        }
    }

    /** Forces a GC in the server process (jcmd) and reads its used heap from /metrics. */
    private static long usedHeapAfterGc(Process server, String http) {
        try {
            String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
            for (int i = 0; i < 2; i++) {
                new ProcessBuilder(jcmd, String.valueOf(server.pid()), "GC.run")
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
                        .waitFor(30, TimeUnit.SECONDS);
            }
            try (HttpClient c = HttpClient.newHttpClient()) {
                String metrics = c.send(HttpRequest.newBuilder(URI.create(http + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                return metrics.lines().filter(l -> l.startsWith("memory_usedHeap_bytes"))
                        .map(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                        .findFirst().orElseThrow(() -> new IllegalStateException("no memory_usedHeap_bytes"));
            }
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("cannot measure server heap: " + e, e);
        }
    }

}
