package dev.tandem.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import dev.tandem.hooks.Signature;

/**
 * An application backend standing in for the real one in hook and webhook tests: a real HTTP
 * server on an ephemeral port that checks every request's signature, records it, and answers
 * what the test's behaviour for the path says (possibly slowly).
 */
final class FakeBackend implements AutoCloseable {
    static final String SECRET = "hook-test-secret-of-at-least-32-bytes!";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A recorded request. */
    record Call(String path, JsonNode body, Map<String, String> headers, boolean signed) {
    }

    /** What to answer. */
    record Answer(int status, String body, long delayMillis) {
        static Answer json(String body) {
            return new Answer(200, body, 0);
        }
    }

    private final HttpServer server;
    private final Map<String, Function<JsonNode, Answer>> behaviour = new ConcurrentHashMap<>();
    final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();
    private final Signature signature = new Signature(SECRET);

    FakeBackend() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    /** Answers requests to the path with the function's answer (default: allow). */
    void on(String path, Function<JsonNode, Answer> answer) {
        behaviour.put(path, answer);
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] body = ex.getRequestBody().readAllBytes();
        String ts = ex.getRequestHeaders().getFirst(Signature.TIMESTAMP_HEADER);
        String sig = ex.getRequestHeaders().getFirst(Signature.SIGNATURE_HEADER);
        boolean signed = ts != null && sig != null && signature.verify(Long.parseLong(ts), body, sig);
        JsonNode json = JSON.readTree(body);
        Map<String, String> headers = new java.util.HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.getFirst()));
        String path = ex.getRequestURI().getPath();
        calls.add(new Call(path, json, headers, signed));
        Answer a = behaviour.getOrDefault(path, j -> Answer.json("{\"result\":\"allow\"}")).apply(json);
        try {
            if (a.delayMillis() > 0) {
                Thread.sleep(a.delayMillis());
            }
            byte[] out = a.body().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(a.status(), out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
                ex.getResponseBody().write(out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the gateway gave up waiting
        } finally {
            ex.close();
        }
    }

    /** The next call to the path, waiting up to 10 s. */
    Call next(String path) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            Call c = calls.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            if (c != null && c.path().equals(path)) {
                return c;
            }
        }
        throw new AssertionError("no call to " + path + " within 10 s");
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
