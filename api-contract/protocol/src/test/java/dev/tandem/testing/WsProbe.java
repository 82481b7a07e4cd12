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
 *
 * <p>An optional {@link Inspector} sees every frame: each complete message the server sends (as
 * it arrives) and each one the test sends through {@link #send}, {@link #request} or
 * {@link #connect} (before it leaves); {@link #sendInvalid}, {@link #requestInvalid},
 * {@link #sendFragments} and {@link #sendBinary} bypass it, for input that is bad on purpose.
 * What the inspector records on the socket's thread is reported by {@link Inspector#check()},
 * called at every waiting call and at {@link #close()}. The gateway's contract-validating probe
 * is such an inspector.
 */
public final class WsProbe implements AutoCloseable {
    public static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Sees every frame a probe sends and receives; each method has a no-op default. */
    public interface Inspector {
        /** No inspection. */
        Inspector NONE = new Inspector() {
        };

        /**
         * A complete text message from the server, before it is queued (even when it is not
         * JSON). Runs on the socket's thread: record problems for {@link #check()}, do not throw.
         */
        default void received(String text) {
        }

        /** A message the test sends as valid, before it leaves; throw to fail the test instead. */
        default void sending(String text) {
        }

        /** Reports what was recorded (throw, e.g. an {@link AssertionError}); called by the probe's calls. */
        default void check() {
        }
    }

    public final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    public final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final WebSocket ws;
    private final StringBuilder partial = new StringBuilder();
    private final java.util.List<JsonNode> skipped = new java.util.ArrayList<>();
    private final boolean stalled;
    private final Inspector inspector;

    private WsProbe(URI uri, Map<String, String> headers, List<String> subprotocols) throws Exception {
        this(uri, headers, subprotocols, false, Inspector.NONE);
    }

    private WsProbe(URI uri, Map<String, String> headers, List<String> subprotocols, boolean stalled,
                    Inspector inspector) throws Exception {
        this.stalled = stalled;
        this.inspector = java.util.Objects.requireNonNull(inspector, "inspector");
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
                    inspector.received(partial.toString());
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
        return stalled(uri, token, Inspector.NONE);
    }

    /** {@link #stalled(URI, String)} with an inspector. */
    public static WsProbe stalled(URI uri, String token, Inspector inspector) throws Exception {
        return new WsProbe(uri, Map.of("Authorization", "Bearer " + token), List.of("tandem.v1"), true, inspector);
    }

    /** Opens with the given upgrade headers and subprotocols (none: none asked for) and an inspector. */
    public static WsProbe open(URI uri, Map<String, String> headers, List<String> subprotocols, Inspector inspector)
            throws Exception {
        return new WsProbe(uri, headers, subprotocols, false, inspector);
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
        return connect(uri, token, Inspector.NONE);
    }

    /** {@link #connect(URI, String)} with an inspector, which sees the connect frame and the welcome too. */
    public static WsProbe connect(URI uri, String token, Inspector inspector) throws Exception {
        WsProbe p = open(uri, Map.of(), List.of("tandem.v1"), inspector);
        p.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
        p.expect(f -> f.path("op").asText().equals("welcome"));
        p.expect(f -> f.path("op").asText().equals("reply") && f.path("id").asLong() == 1);
        return p;
    }

    public String subprotocol() {
        return ws.getSubprotocol();
    }

    /** Sends a message the test means to be valid: the inspector sees it first. */
    public void send(String text) {
        inspector.sending(text);
        ws.sendText(text, true).join();
    }

    /** Sends a message as is, past the inspector: for input that is bad on purpose. */
    public void sendInvalid(String text) {
        ws.sendText(text, true).join();
    }

    /** Sends one message in fragments, past the inspector. */
    public void sendFragments(String... parts) {
        for (int i = 0; i < parts.length; i++) {
            ws.sendText(parts[i], i == parts.length - 1).join();
        }
    }

    /**
     * Sends one message in fragments that the server is expected to refuse part-way (too large):
     * it may close as soon as the joined fragments pass its limit, and the sends after that fail
     * with the output closed, which is what this tolerates and nothing else.
     */
    public void sendFragmentsToBeRefused(String... parts) {
        try {
            sendFragments(parts);
        } catch (java.util.concurrent.CompletionException e) {
            if (!(e.getCause() instanceof java.io.IOException)) {
                throw e;
            }
        }
    }

    public void sendBinary(byte[] bytes) {
        ws.sendBinary(java.nio.ByteBuffer.wrap(bytes), true).join();
    }

    /** The next frame, failing after a timeout. */
    public JsonNode next() throws InterruptedException {
        inspector.check();
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        JsonNode f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        inspector.check();
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
        inspector.check();
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
            inspector.check();
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

    /** Sends a request (the inspector sees it) and returns its answer. */
    public JsonNode request(long id, String json) throws InterruptedException {
        send(json);
        return answer(id);
    }

    /** Sends a request that is bad on purpose (past the inspector) and returns its answer. */
    public JsonNode requestInvalid(long id, String json) throws InterruptedException {
        sendInvalid(json);
        return answer(id);
    }

    /** The close code, waiting for it. */
    public int closeCode() throws Exception {
        int code = closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        inspector.check();
        return code;
    }

    /** The next frame within {@code d}, or null (to assert that nothing arrives for a while). */
    public JsonNode poll(Duration d) throws InterruptedException {
        inspector.check();
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        JsonNode f = frames.poll(d.toMillis(), TimeUnit.MILLISECONDS);
        inspector.check();
        return f;
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
        inspector.check();
    }
}
