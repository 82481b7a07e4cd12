package dev.tandem.testing;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A plain JDK WebSocket client for tests: sends raw text (malformed on purpose when needed) and
 * collects every frame and the close code. Deliberately not the project's client library.
 * Shared with the gateway and integration tests through the api-contract test-jar.
 */
public final class WsProbe implements AutoCloseable {
    public static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    public final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    public final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final WebSocket ws;
    private final StringBuilder partial = new StringBuilder();
    private final java.util.List<JsonNode> skipped = new java.util.ArrayList<>();
    private final boolean stalled;

    private WsProbe(URI uri, Map<String, String> headers, List<String> subprotocols) throws Exception {
        this(uri, headers, subprotocols, false);
    }

    private WsProbe(URI uri, Map<String, String> headers, List<String> subprotocols, boolean stalled)
            throws Exception {
        this.stalled = stalled;
        WebSocket.Builder b = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(WAIT);
        headers.forEach(b::header);
        if (!subprotocols.isEmpty()) {
            b.subprotocols(subprotocols.getFirst(), subprotocols.subList(1, subprotocols.size()).toArray(String[]::new));
        }
        this.ws = b.buildAsync(uri, new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    try {
                        frames.add(JSON.readTree(partial.toString()));
                    } catch (Exception e) {
                        throw new IllegalStateException("server sent non-JSON: " + partial, e);
                    }
                    partial.setLength(0);
                }
                if (!stalled) {
                    w.request(1);
                }
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket w, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket w, Throwable error) {
                closed.complete(-1);
            }
        }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** A client that reads one frame and then never again (a slow consumer / dead peer). */
    public static WsProbe stalled(URI uri, String token) throws Exception {
        return new WsProbe(uri, Map.of("Authorization", "Bearer " + token), List.of("tandem.v1"), true);
    }

    public static WsProbe open(URI uri) throws Exception {
        return new WsProbe(uri, Map.of(), List.of("tandem.v1"));
    }

    public static WsProbe open(URI uri, Map<String, String> headers) throws Exception {
        return new WsProbe(uri, headers, List.of("tandem.v1"));
    }

    public static WsProbe open(URI uri, Map<String, String> headers, List<String> subprotocols) throws Exception {
        return new WsProbe(uri, headers, subprotocols);
    }

    /** Opens and authenticates with a connect frame; returns after the welcome. */
    public static WsProbe connect(URI uri, String token) throws Exception {
        WsProbe p = open(uri);
        p.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
        p.expect(f -> f.path("op").asText().equals("welcome"));
        p.expect(f -> f.path("op").asText().equals("reply") && f.path("id").asLong() == 1);
        return p;
    }

    public String subprotocol() {
        return ws.getSubprotocol();
    }

    public void send(String text) {
        ws.sendText(text, true).join();
    }

    public void sendFragments(String... parts) {
        for (int i = 0; i < parts.length; i++) {
            ws.sendText(parts[i], i == parts.length - 1).join();
        }
    }

    public void sendBinary(byte[] bytes) {
        ws.sendBinary(java.nio.ByteBuffer.wrap(bytes), true).join();
    }

    /** The next frame, failing after a timeout. */
    public JsonNode next() throws InterruptedException {
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        JsonNode f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (f == null) {
            throw new AssertionError("no frame within " + WAIT);
        }
        return f;
    }

    /**
     * The first frame that matches, waiting for it; frames that do not match are kept, in order,
     * for later calls.
     */
    public JsonNode expect(Predicate<JsonNode> match) throws InterruptedException {
        for (java.util.Iterator<JsonNode> it = skipped.iterator(); it.hasNext(); ) {
            JsonNode f = it.next();
            if (match.test(f)) {
                it.remove();
                return f;
            }
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode f = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (f == null) {
                continue;
            }
            if (match.test(f)) {
                return f;
            }
            skipped.add(f);
        }
        throw new AssertionError("no matching frame within " + WAIT + "; unmatched: " + skipped);
    }

    /** The reply or error to the request with this id. */
    public JsonNode answer(long id) throws InterruptedException {
        return expect(f -> f.path("id").asLong() == id
                && (f.path("op").asText().equals("reply") || f.path("op").asText().equals("error")));
    }

    /** Sends a request and returns its answer. */
    public JsonNode request(long id, String json) throws InterruptedException {
        send(json);
        return answer(id);
    }

    /** The close code, waiting for it. */
    public int closeCode() throws Exception {
        return closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Asserts that nothing arrives for a while. */
    public JsonNode poll(Duration d) throws InterruptedException {
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        return frames.poll(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (!closed.isDone()) {
            try {
                ws.sendClose(1000, "bye").get(2, TimeUnit.SECONDS);
                closed.get(2, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the server may already be gone; abort below either way
            }
            ws.abort();
        }
    }
}
