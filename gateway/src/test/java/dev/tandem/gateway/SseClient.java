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

/**
 * A Server-Sent Events client for tests that reads a stream the way an {@code EventSource} does:
 * events of {@code id:}, {@code event:} and {@code data:} lines ended by a blank line, comments
 * skipped, the last id remembered.
 */
final class SseClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One event. */
    record Event(Optional<String> id, String name, JsonNode data) {
    }

    final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    final int status;
    private final HttpClient http = HttpClient.newHttpClient();
    private final Stream<String> lines;
    private volatile String lastId;

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
        return events.poll(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        lines.close();
        http.shutdownNow();
    }
}
