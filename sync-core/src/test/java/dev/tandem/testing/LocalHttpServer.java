package dev.tandem.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A push service (or token endpoint) on an ephemeral loopback port for tests: it keeps every
 * request as it arrived and answers what the test scripted per path prefix (404 otherwise).
 */
public final class LocalHttpServer implements AutoCloseable {
    private final HttpServer server;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final Map<String, Function<Request, Reply>> handlers = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * A request as the server received it.
     *
     * @param method  the method
     * @param path    the raw path
     * @param headers the headers, names in lower case
     * @param body    the body
     */
    public record Request(String method, String path, Map<String, List<String>> headers, byte[] body) {
        /** A header's first value, or null. */
        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? null : v.getFirst();
        }

        /** The body as UTF-8. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /**
     * A scripted answer.
     *
     * @param status  the status
     * @param headers the headers
     * @param body    the body
     */
    public record Reply(int status, Map<String, String> headers, String body) {
        /** An empty answer with this status. */
        public static Reply of(int status) {
            return new Reply(status, Map.of(), "");
        }

        /** A JSON answer. */
        public static Reply json(int status, String json) {
            return new Reply(status, Map.of("Content-Type", "application/json"), json);
        }

        /** The same answer with one more header. */
        public Reply with(String name, String value) {
            Map<String, String> h = new LinkedHashMap<>(headers);
            h.put(name, value);
            return new Reply(status, h, body);
        }
    }

    private LocalHttpServer(HttpServer server) {
        this.server = server;
        server.createContext("/", this::handle);
        server.start();
    }

    /** A server on 127.0.0.1 and an ephemeral port. */
    public static LocalHttpServer start() throws IOException {
        return new LocalHttpServer(HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0));
    }

    /** Answers requests whose path starts with the prefix (the longest prefix wins). */
    public void on(String pathPrefix, Function<Request, Reply> handler) {
        handlers.put(pathPrefix, handler);
    }

    /** An absolute URL on this server. */
    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    /** The port. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Every request received, in order. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** The requests whose path starts with the prefix. */
    public List<Request> requests(String pathPrefix) {
        return requests.stream().filter(r -> r.path().startsWith(pathPrefix)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }

    private void handle(HttpExchange exchange) throws IOException {
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readAllBytes();
        }
        Map<String, List<String>> headers = new LinkedHashMap<>();
        exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        Request request = new Request(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath()
                + (exchange.getRequestURI().getRawQuery() == null ? "" : "?" + exchange.getRequestURI().getRawQuery()),
                headers, body);
        requests.add(request);
        Function<Request, Reply> handler = handlers.entrySet().stream()
                .filter(e -> request.path().startsWith(e.getKey()))
                .max(java.util.Comparator.comparingInt(e -> e.getKey().length()))
                .map(Map.Entry::getValue)
                .orElse(r -> Reply.of(404));
        Reply reply = handler.apply(request);
        reply.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
        byte[] out = reply.body().getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(reply.status(), out.length == 0 ? -1 : out.length);
        try (OutputStream o = exchange.getResponseBody()) {
            o.write(out);
        }
    }
}
