package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.contracts.Contracts;

/**
 * A Server-Sent Events client for tests that reads a stream the way an {@code EventSource} does:
 * events of {@code id:}, {@code event:} and {@code data:} lines ended by a blank line, comments
 * skipped, the last id remembered. Every event's {@code data} is a tandem.v1 server frame and is
 * held to the AsyncAPI contract ({@link Contracts}): a violation fails the test at the next call
 * on the client (or at {@link #close()}), naming the event.
 */
final class SseClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Contracts CONTRACTS = Contracts.load();

    /** One event. */
    record Event(Optional<String> id, String name, JsonNode data) {
    }

    final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    final int status;
    private final HttpClient http = HttpClient.newHttpClient();
    private final Stream<String> lines;
    private volatile String lastId;
    /** Events whose data broke the contract, not yet reported. */
    private final java.util.List<String> violations = new java.util.concurrent.CopyOnWriteArrayList<>();

    private SseClient(String url, String token, Optional<String> lastEventId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Accept", "text/event-stream")
                .header("Authorization", "Bearer " + token).GET();
        lastEventId.ifPresent(id -> b.header("Last-Event-ID", id));
        HttpResponse<Stream<String>> res = http.send(b.build(), HttpResponse.BodyHandlers.ofLines());
        this.status = res.statusCode();
        this.lines = res.body();
        Thread.ofVirtual().start(this::read);
    }

    static SseClient open(String url, String token, Optional<String> lastEventId) throws Exception {
        return new SseClient(url, token, lastEventId);
    }

    private void read() {
        String id = null;
        String name = "message";
        StringBuilder data = new StringBuilder();
        try {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.isEmpty()) {
                    if (!data.isEmpty()) {
                        if (id != null) {
                            lastId = id;
                        }
                        java.util.List<String> errors = CONTRACTS.streamFrameErrors(data.toString());
                        if (!errors.isEmpty()) {
                            violations.add("SSE event '" + name + "' does not conform to the contract: "
                                    + String.join("; ", errors) + "\n  " + data);
                        }
                        events.add(new Event(Optional.ofNullable(id), name, JSON.readTree(data.toString())));
                    }
                    id = null;
                    name = "message";
                    data.setLength(0);
                } else if (line.startsWith(":")) {
                    continue;
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data.append(line.substring(6));
                }
            }
        } catch (Exception e) {
            // closed
        } finally {
            ended.complete(null);
        }
    }

    /** The id an EventSource would send back on reconnect. */
    String lastId() {
        return lastId;
    }

    Event expect(Predicate<Event> match) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            Event e = events.poll(100, TimeUnit.MILLISECONDS);
            checkContract();
            if (e != null && match.test(e)) {
                return e;
            }
        }
        throw new AssertionError("no matching SSE event within 10 s");
    }

    Event next(String name) throws InterruptedException {
        return expect(e -> e.name().equals(name));
    }

    Event poll(Duration d) throws InterruptedException {
        Event e = events.poll(d.toMillis(), TimeUnit.MILLISECONDS);
        checkContract();
        return e;
    }

    /** Fails if an event broke the contract (each violation is reported once). */
    void checkContract() {
        if (!violations.isEmpty()) {
            java.util.List<String> found = java.util.List.copyOf(violations);
            violations.removeAll(found);
            throw new AssertionError(String.join("\n", found));
        }
    }

    /** Closes, then fails if an event broke the contract and no call reported it yet. */
    @Override
    public void close() {
        lines.close();
        http.shutdownNow();
        checkContract();
    }
}
