package dev.tandem.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.delta.Fossil;
import dev.tandem.gateway.DevTokens;
import dev.tandem.protocol.FrameCodec;

/**
 * Delta compression measured: bytes on the wire and server CPU per delivery, with and without
 * {@code delta: "fossil"} subscriptions, for two streams: inventory events like the demo board's
 * (stock levels of one location, each event another SKU's document) and one 4 KB document
 * edited one field at a time. For each stream and mode, N connections subscribe to one channel
 * and M publications go through the REST API at a fixed rate; the bytes are the event frames'
 * (WebSocket payload), the CPU is the gateway process's (user + system) over the publications,
 * divided by the deliveries. One delta connection per run rebuilds every payload and checks it,
 * so a broken chain fails the run instead of flattering the figures.
 *
 * <p>It starts a standalone gateway as a child process (its CPU is its own) and warms every
 * stream and mode up before measuring.
 *
 * <pre>
 * java -cp "integration-tests/target/tandem-integration-tests-0.1.0-SNAPSHOT.jar:integration-tests/target/libs/*" \
 *     dev.tandem.bench.DeltaBenchmark [--connections 200] [--publications 300] [--rate 100]
 * </pre>
 */
public final class DeltaBenchmark {
    private static final FrameCodec CODEC = FrameCodec.create();
    /** Fields of the edited document. */
    private static final int FIELDS = 48;

    private DeltaBenchmark() {
    }

    /** A stream of payloads: the i-th publication's JSON. */
    record Stream(String name, IntFunction<String> payload) {
    }

    /** One stream in one mode, measured. */
    record Row(String stream, boolean delta, long deliveries, double bytesPerDelivery, double cpuMicrosPerDelivery,
               double payloadBytes) {
    }

    /** Inventory: 40 SKUs of one location, each event the next changed SKU's stock-level document. */
    static String inventory(int i) {
        int sku = (i * 7) % 40;
        Instant at = Instant.parse("2026-12-07T09:00:00Z").plusMillis(i * 1_250L);
        return "{\"docType\":\"stock_level\",\"docId\":\"SKU-" + (1000 + sku) + "@wh-7\",\"version\":" + (i / 40 + 2)
                + ",\"data\":{\"sku\":\"SKU-" + (1000 + sku) + "\",\"name\":\"" + NAMES[sku % NAMES.length] + "\","
                + "\"locationId\":\"wh-7\",\"bin\":\"R" + (sku % 12) + "-S" + (sku % 5) + "\",\"qty\":" + ((i * 37) % 500)
                + ",\"reserved\":" + (i % 9) + ",\"reorderAt\":50},\"updatedAt\":\"" + at + "\",\"updatedBy\":\"scanner-"
                + (i % 6) + "\",\"createdBy\":\"import\",\"deleted\":false}";
    }

    private static final String[] NAMES = {"Anvil, forged, 20 kg", "Bolt M8x40, zinc, box of 100",
        "Cable tie 300 mm, black", "Drill bit HSS 6 mm", "End cap 40x40", "Fuse 10 A, slow", "Gasket DN50",
        "Hinge 100 mm, steel"};

    /** A 4 KB document (48 fields of about 85 bytes) whose i-th edit changes one field. */
    static String document(int i) {
        StringBuilder b = new StringBuilder("{\"docType\":\"spec\",\"docId\":\"S-17\",\"version\":").append(i + 2)
                .append(",\"data\":{");
        for (int f = 0; f < FIELDS; f++) {
            // field f holds the text of its last edit: edit number e where e % FIELDS == f and e <= i
            int last = f <= i ? i - ((i - f) % FIELDS + FIELDS) % FIELDS : -1;
            b.append(f == 0 ? "" : ",").append("\"field").append(f).append("\":\"")
                    .append(last < 0 ? "initial text of this field, long enough to look like a value someone wrote"
                            : "edited in revision " + (last + 2) + " by its author, who rewrote this sentence again")
                    .append('"');
        }
        return b.append("},\"updatedAt\":\"").append(Instant.parse("2026-12-07T09:00:00Z").plusSeconds(i))
                .append("\",\"updatedBy\":\"alice\"}").toString();
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = Bench.options(args);
        int n = Integer.parseInt(o.getOrDefault("connections", "200"));
        int m = Integer.parseInt(o.getOrDefault("publications", "300"));
        int rate = Integer.parseInt(o.getOrDefault("rate", "100"));
        List<Stream> streams = List.of(new Stream("inventory", DeltaBenchmark::inventory),
                new Stream("4 KB document", DeltaBenchmark::document));
        int port = Bench.freePort();
        Process server = Bench.startServer(port, List.of());
        String ws = "ws://127.0.0.1:" + port + "/ws";
        String http = "http://127.0.0.1:" + port;
        List<Row> rows = new ArrayList<>();
        try {
            Bench.waitForReady(http);
            int run = 0;
            for (Stream s : streams) {
                for (boolean delta : new boolean[] {false, true}) {
                    measure(server, ws, http, s, delta, Math.min(n, 50), Math.min(m, 100), rate, "warm" + run++);
                }
            }
            for (Stream s : streams) {
                for (boolean delta : new boolean[] {false, true}) {
                    rows.add(measure(server, ws, http, s, delta, n, m, rate, "run" + run++));
                }
            }
        } finally {
            server.destroy();
            server.waitFor(30, TimeUnit.SECONDS);
            server.destroyForcibly();
        }
        System.out.printf(Locale.ROOT, "%d connections, %d publications at %d/s per stream and mode%n", n, m, rate);
        System.out.printf(Locale.ROOT, "%-15s %-6s %12s %14s %16s%n", "stream", "delta", "payload B", "frame B/deliv",
                "server µs/deliv");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%-15s %-6s %12.0f %14.1f %16.2f%n", r.stream(), r.delta() ? "fossil" : "no",
                    r.payloadBytes(), r.bytesPerDelivery(), r.cpuMicrosPerDelivery());
        }
    }

    private static Row measure(Process server, String ws, String http, Stream stream, boolean delta, int n, int m,
                               int rate, String tenant) throws Exception {
        HttpClient client = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        String token = DevTokens.mint(DevTokens.DEV_SECRET, "reader", tenant, List.of(), Map.of(), Duration.ofHours(1),
                Optional.empty(), Optional.empty());
        AtomicLong bytes = new AtomicLong();
        CountDownLatch all = new CountDownLatch(n * m);
        List<WebSocket> sockets = new ArrayList<>();
        Checker checker = new Checker(stream, delta);
        String subscribe = "{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\"" + (delta ? ",\"delta\":\"fossil\"" : "")
                + "}";
        for (int i = 0; i < n; i++) {
            CompletableFuture<Void> subscribed = new CompletableFuture<>();
            WebSocket s = client.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                    .subprotocols("tandem.v1").connectTimeout(Duration.ofSeconds(30))
                    .buildAsync(URI.create(ws), new Counter(subscribed, bytes, all, i == 0 ? checker : null))
                    .get(30, TimeUnit.SECONDS);
            s.sendText(subscribe, true);
            subscribed.get(30, TimeUnit.SECONDS);
            sockets.add(s);
        }
        String service = DevTokens.mint(DevTokens.DEV_SECRET, "erp", tenant, List.of("service"), Map.of(),
                Duration.ofHours(1), Optional.empty(), Optional.empty());
        long payloadBytes = 0;
        long interval = 1_000_000_000L / Math.max(1, rate);
        Duration cpu0 = server.info().totalCpuDuration().orElseThrow();
        long start = System.nanoTime();
        for (int i = 0; i < m; i++) {
            long wait = start + i * interval - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            String payload = stream.payload().apply(i);
            payloadBytes += payload.getBytes(StandardCharsets.UTF_8).length;
            HttpResponse<String> res = client.send(HttpRequest.newBuilder(URI.create(http + "/api/v1/publish"))
                    .header("Authorization", "Bearer " + service).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"channel\":\"tenant\",\"type\":\"doc.changed\",\"data\":"
                            + payload + "}")).build(), HttpResponse.BodyHandlers.ofString());
            if (res.statusCode() != 200) {
                throw new IllegalStateException("publish failed: " + res.statusCode() + " " + res.body());
            }
        }
        if (!all.await(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException(all.getCount() + " deliveries missing");
        }
        Duration cpu = server.info().totalCpuDuration().orElseThrow().minus(cpu0);
        sockets.forEach(WebSocket::abort);
        client.close();
        checker.assertComplete(m);
        long deliveries = (long) n * m;
        return new Row(stream.name(), delta, deliveries, bytes.get() / (double) deliveries,
                cpu.toNanos() / 1000.0 / deliveries, payloadBytes / (double) m);
    }

    /** Rebuilds one connection's payloads and compares them with what was published. */
    private static final class Checker {
        private final Stream stream;
        private final boolean delta;
        private byte[] held;
        private int next;
        private volatile RuntimeException failure;

        Checker(Stream stream, boolean delta) {
            this.stream = stream;
            this.delta = delta;
        }

        void event(String frame) {
            if (failure != null) {
                return;
            }
            try {
                check(frame);
            } catch (RuntimeException e) {
                failure = e;
            }
        }

        private void check(String frame) {
            JsonNode e = CODEC.parse(frame);
            String expected = stream.payload().apply(next++);
            String got;
            if (!delta) {
                got = e.path("data").toString();
            } else if (e.path("delta").asBoolean()) {
                held = Fossil.apply(held, e.path("data").textValue().getBytes(StandardCharsets.UTF_8));
                got = new String(held, StandardCharsets.UTF_8);
            } else {
                got = e.path("data").textValue();
                held = got.getBytes(StandardCharsets.UTF_8);
            }
            if (!CODEC.parse(got).equals(CODEC.parse(expected))) {
                throw new IllegalStateException("payload " + next + " differs: " + got);
            }
        }

        void assertComplete(int m) {
            if (failure != null) {
                throw failure;
            }
            if (next != m) {
                throw new IllegalStateException("the checked connection got " + next + " of " + m);
            }
        }
    }

    /** Counts the bytes of the event frames a connection receives. */
    private static final class Counter implements WebSocket.Listener {
        private final CompletableFuture<Void> subscribed;
        private final AtomicLong bytes;
        private final CountDownLatch all;
        private final Checker checker;
        private final StringBuilder partial = new StringBuilder();

        Counter(CompletableFuture<Void> subscribed, AtomicLong bytes, CountDownLatch all, Checker checker) {
            this.subscribed = subscribed;
            this.bytes = bytes;
            this.all = all;
            this.checker = checker;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String frame = partial.toString();
                partial.setLength(0);
                if (frame.startsWith("{\"op\":\"event\"")) {
                    bytes.addAndGet(frame.getBytes(StandardCharsets.UTF_8).length);
                    if (checker != null) {
                        checker.event(frame);
                    }
                    all.countDown();
                } else if (frame.startsWith("{\"op\":\"reply\"")) {
                    subscribed.complete(null);
                } else if (frame.startsWith("{\"op\":\"error\"") || frame.startsWith("{\"op\":\"disconnect\"")) {
                    subscribed.completeExceptionally(new IllegalStateException(frame));
                }
            }
            ws.request(1);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            subscribed.completeExceptionally(error);
        }
    }
}
