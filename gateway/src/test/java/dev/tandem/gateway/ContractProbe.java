package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.protocol.Contracts;

/**
 * The gateway tests' WebSocket client (a plain JDK WebSocket, deliberately not the project's
 * client library) that holds every frame to the AsyncAPI contract with {@link Contracts}:
 * <ul>
 *   <li>every frame the server sends is validated as it arrives; a violation fails the test at
 *       the next call on the probe (or at {@link #close()}), naming the frame and what is wrong;</li>
 *   <li>every frame sent with {@link #send}, {@link #request} or {@link #connect} is validated
 *       before it leaves, so a test cannot exercise a frame the contract does not describe.
 *       Frames that are invalid on purpose (bad input, the hostile battery) go through
 *       {@link #sendInvalid}, {@link #sendFragments} or {@link #sendBinary}, which do not
 *       validate.</li>
 * </ul>
 * Otherwise the same API as the shared {@code dev.tandem.testing.WsProbe}.
 */
final class ContractProbe implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Contracts CONTRACTS = Contracts.load();

    final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final WebSocket ws;
    private final StringBuilder partial = new StringBuilder();
    private final List<JsonNode> skipped = new ArrayList<>();
    /** Server frames that broke the contract, not yet reported. */
    private final List<String> violations = new CopyOnWriteArrayList<>();

    private ContractProbe(URI uri, Map<String, String> headers, List<String> subprotocols, boolean stalled)
            throws Exception {
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
                    String text = partial.toString();
                    partial.setLength(0);
                    List<String> errors = ContractGaps.serverFrame(text, CONTRACTS.serverFrameErrors(text));
                    if (!errors.isEmpty()) {
                        violations.add("server frame does not conform to the contract: " + String.join("; ", errors)
                                + "\n  " + abbreviate(text));
                    }
                    try {
                        frames.add(JSON.readTree(text));
                    } catch (Exception e) {
                        violations.add("server sent non-JSON: " + abbreviate(text));
                    }
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
    static ContractProbe stalled(URI uri, String token) throws Exception {
        return new ContractProbe(uri, Map.of("Authorization", "Bearer " + token), List.of("tandem.v1"), true);
    }

    static ContractProbe open(URI uri) throws Exception {
        return new ContractProbe(uri, Map.of(), List.of("tandem.v1"), false);
    }

    static ContractProbe open(URI uri, Map<String, String> headers) throws Exception {
        return new ContractProbe(uri, headers, List.of("tandem.v1"), false);
    }

    static ContractProbe open(URI uri, Map<String, String> headers, List<String> subprotocols) throws Exception {
        return new ContractProbe(uri, headers, subprotocols, false);
    }

    /** Opens and authenticates with a connect frame; returns after the welcome. */
    static ContractProbe connect(URI uri, String token) throws Exception {
        ContractProbe p = open(uri);
        p.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
        p.expect(f -> f.path("op").asText().equals("welcome"));
        p.expect(f -> f.path("op").asText().equals("reply") && f.path("id").asLong() == 1);
        return p;
    }

    String subprotocol() {
        return ws.getSubprotocol();
    }

    /** Sends a frame the test means to be valid: fails the test first if the contract disagrees. */
    void send(String text) {
        CONTRACTS.assertClientFrame(text);
        ws.sendText(text, true).join();
    }

    /** Sends a frame as is, unvalidated: for input that is bad on purpose. */
    void sendInvalid(String text) {
        ws.sendText(text, true).join();
    }

    /** Sends one message in fragments, unvalidated (fragmentation and oversize tests). */
    void sendFragments(String... parts) {
        for (int i = 0; i < parts.length; i++) {
            ws.sendText(parts[i], i == parts.length - 1).join();
        }
    }

    /** Sends a binary message (never part of the protocol). */
    void sendBinary(byte[] bytes) {
        ws.sendBinary(java.nio.ByteBuffer.wrap(bytes), true).join();
    }

    /** The next frame, failing after a timeout. */
    JsonNode next() throws InterruptedException {
        checkContract();
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        JsonNode f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        checkContract();
        if (f == null) {
            throw new AssertionError("no frame within " + WAIT);
        }
        return f;
    }

    /**
     * The first frame that matches, waiting for it; frames that do not match are kept, in order,
     * for later calls.
     */
    JsonNode expect(Predicate<JsonNode> match) throws InterruptedException {
        checkContract();
        for (Iterator<JsonNode> it = skipped.iterator(); it.hasNext(); ) {
            JsonNode f = it.next();
            if (match.test(f)) {
                it.remove();
                return f;
            }
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode f = frames.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            checkContract();
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
    JsonNode answer(long id) throws InterruptedException {
        return expect(f -> f.path("id").asLong() == id
                && (f.path("op").asText().equals("reply") || f.path("op").asText().equals("error")));
    }

    /** Sends a request (validated) and returns its answer. */
    JsonNode request(long id, String json) throws InterruptedException {
        send(json);
        return answer(id);
    }

    /** Sends a request that is bad on purpose (unvalidated) and returns its answer. */
    JsonNode requestInvalid(long id, String json) throws InterruptedException {
        sendInvalid(json);
        return answer(id);
    }

    /** The close code, waiting for it. */
    int closeCode() throws Exception {
        int code = closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        checkContract();
        return code;
    }

    /** The next frame within {@code d}, or null. */
    JsonNode poll(Duration d) throws InterruptedException {
        checkContract();
        if (!skipped.isEmpty()) {
            return skipped.removeFirst();
        }
        JsonNode f = frames.poll(d.toMillis(), TimeUnit.MILLISECONDS);
        checkContract();
        return f;
    }

    /** Fails if a server frame broke the contract (each violation is reported once). */
    void checkContract() {
        if (!violations.isEmpty()) {
            List<String> found = List.copyOf(violations);
            violations.removeAll(found);
            throw new AssertionError(String.join("\n", found));
        }
    }

    /** Closes, then fails if a server frame broke the contract and no call reported it yet. */
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
        checkContract();
    }

    private static String abbreviate(String text) {
        return text.length() > 2_000 ? text.substring(0, 2_000) + "…" : text;
    }
}
