package dev.tandem.hooks;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Semaphore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.Utf8;
import dev.tandem.telemetry.Telemetry;

/**
 * One backend URL called by a hook or webhook: a signed JSON POST with its own timeout and a
 * bulkhead (at most {@code maxConcurrent} calls in flight; one more fails at once rather than
 * queueing, so a slow backend cannot gather the node's threads). Thread-safe.
 */
final class Endpoint {
    /** Largest answer read from a backend. */
    private static final int MAX_ANSWER_CHARS = 1 << 20;

    private final String name;
    private final URI url;
    private final Duration timeout;
    private final Semaphore bulkhead;
    private final int maxConcurrent;
    private final boolean failOpen;
    private final HttpClient http;
    private final Signature signature;
    private final ObjectMapper mapper;
    private final Telemetry telemetry;
    private final Clock clock;

    Endpoint(String name, HookSettings.Target target, HttpClient http, Signature signature, ObjectMapper mapper,
             Telemetry telemetry, Clock clock) {
        this.name = name;
        this.url = target.url();
        this.timeout = target.timeout();
        this.bulkhead = new Semaphore(target.maxConcurrent());
        this.maxConcurrent = target.maxConcurrent();
        this.failOpen = target.failOpen();
        this.http = http;
        this.signature = signature;
        this.mapper = mapper;
        this.telemetry = telemetry;
        this.clock = clock;
    }

    /** The hook's name ({@code connect}, {@code document-write}, …). */
    String name() {
        return name;
    }

    /** Whether a failed call allows what it was asked about ({@code on-failure: allow}). */
    boolean failOpen() {
        return failOpen;
    }

    /** The timeout of one call. */
    Duration timeout() {
        return timeout;
    }

    /**
     * Calls the backend with a JSON body (its {@code requestId} is also sent as a header).
     *
     * @return the backend's JSON object answer (a 2xx status)
     * @throws Failure when the backend does not answer in time, answers another status or not a
     *                 JSON object, or the bulkhead is full
     */
    ObjectNode call(ObjectNode body) throws Failure {
        long start = System.nanoTime();
        String outcome = "failure";
        try {
            ObjectNode answer = send(body);
            // a label with few values: whatever else a backend answers is not a metric's name
            outcome = switch (answer.path("result").asText("")) {
                case "allow" -> "allow";
                case "refuse" -> "refuse";
                default -> "ok";
            };
            return answer;
        } finally {
            telemetry.hookCall(name, outcome, System.nanoTime() - start);
        }
    }

    private ObjectNode send(ObjectNode body) throws Failure {
        if (!bulkhead.tryAcquire()) {
            throw new Failure("already " + maxConcurrent + " calls in flight (max-concurrent)");
        }
        try {
            byte[] bytes;
            try {
                bytes = mapper.writeValueAsBytes(body);
            } catch (IOException e) {
                throw new IllegalStateException("hook body not serializable", e);
            }
            long now = clock.instant().getEpochSecond();
            HttpRequest request = HttpRequest.newBuilder(url)
                    .timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header(Signature.TIMESTAMP_HEADER, Long.toString(now))
                    .header(Signature.SIGNATURE_HEADER, signature.sign(now, bytes))
                    .header(Signature.REQUEST_ID_HEADER, body.path("requestId").asText())
                    .header("X-Tandem-Hook", name)
                    .POST(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build();
            HttpResponse<byte[]> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                throw new Failure(e instanceof java.net.http.HttpTimeoutException ? "no answer within " + timeout
                        : "not reachable (" + e.getClass().getSimpleName() + ")");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("interrupted");
            }
            if (response.statusCode() / 100 != 2) {
                throw new Failure("answered HTTP " + response.statusCode());
            }
            byte[] raw = response.body();
            if (raw.length > MAX_ANSWER_CHARS) {
                throw new Failure("answered more than " + MAX_ANSWER_CHARS + " bytes");
            }
            if (raw.length == 0) {
                return mapper.createObjectNode();
            }
            JsonNode answer;
            try {
                answer = mapper.readTree(Utf8.decode(raw));
            } catch (IOException | ProtocolException e) {
                throw new Failure("answered something that is not JSON in UTF-8");
            }
            if (!(answer instanceof ObjectNode o)) {
                throw new Failure("answered something that is not a JSON object");
            }
            return o;
        } finally {
            bulkhead.release();
        }
    }

    /** A call that did not give an answer; the message names the reason (no secrets, no client input). */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(Objects.requireNonNull(message), null, false, false);
        }
    }
}
