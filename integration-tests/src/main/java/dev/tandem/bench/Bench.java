package dev.tandem.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** What the benchmark programs share: gateway child processes, the receiving client, percentiles. */
final class Bench {
    private Bench() {
    }

    /** {@code --name value} pairs as a map of name to value. */
    static java.util.Map<String, String> options(String[] args) {
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException("option " + args[args.length - 1] + " needs a value");
        }
        java.util.Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected " + args[i] + " (options are --name value)");
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        return m;
    }

    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    /** One client connection: counts events and records their latency. */
    static final class Receiver implements WebSocket.Listener {
        private final CompletableFuture<Void> subscribed;
        private final long[] latencies;
        private final AtomicInteger recorded;
        private final AtomicLong lastDelivery;
        private final CountDownLatch allDelivered;
        private final StringBuilder partial = new StringBuilder();

        Receiver(CompletableFuture<Void> subscribed, long[] latencies, AtomicInteger recorded, AtomicLong lastDelivery,
                 CountDownLatch allDelivered) {
            this.subscribed = subscribed;
            this.latencies = latencies;
            this.recorded = recorded;
            this.lastDelivery = lastDelivery;
            this.allDelivered = allDelivered;
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            long now = System.nanoTime();
            partial.append(data);
            if (last) {
                String frame = partial.toString();
                partial.setLength(0);
                if (frame.startsWith("{\"op\":\"event\"") && !frame.contains("\"type\":\"warmup\"")) {
                    int at = frame.indexOf("\"t\":");
                    long sent = Long.parseLong(frame.substring(at + 4, frame.indexOf(',', at)));
                    int slot = recorded.getAndIncrement();
                    if (slot < latencies.length) {
                        latencies[slot] = now - sent;
                    }
                    lastDelivery.accumulateAndGet(now, Math::max);
                    allDelivered.countDown();
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

    /**
     * Starts a gateway in a child JVM (so its heap and CPU are its own) on {@code port}, in
     * development mode with an in-memory document database, plus {@code props}
     * ({@code -Dkey=value}) for cluster settings.
     */
    static Process startServer(int port, List<String> props) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-XX:+UseG1GC",
                "-Dserver.port=" + port, "-Dserver.host=127.0.0.1",
                "-Dtandem.connections-per-address=1000000",
                "-Dtandem.dev-mode=true",
                "-Dtandem.documents.db.url=jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1",
                "-Dtandem.limits.max-subscriptions=16"));
        cmd.addAll(props);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.tandem.gateway.Main"));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    static void waitForReady(String http) throws Exception {
        try (HttpClient c = HttpClient.newHttpClient()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                try {
                    if (c.send(HttpRequest.newBuilder(URI.create(http + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        return;
                    }
                } catch (IOException e) {
                    // not listening yet
                }
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("gateway did not become ready at " + http);
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
