package dev.tandem.push.support;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.Function;

import dev.tandem.push.PushOutcome;

/**
 * One request to a push service, with what every adapter needs around it: an HTTP client that
 * never follows a redirect (the host that was checked is the host that is called), an answer read
 * up to a bound (a service, or a loopback endpoint in development, cannot fill the node's memory),
 * {@code Retry-After} in both of its forms, and the outcome when nothing was answered.
 */
public final class PushHttp {
    /** Most bytes of an answer's body kept; the rest is not read. */
    public static final int MAX_ANSWER_BYTES = 16 * 1024;

    private PushHttp() {
    }

    /**
     * A client for push services: no redirects, the given connect timeout and HTTP version
     * ({@code HTTP_2} negotiates HTTP/2 over TLS and falls back to HTTP/1.1 where it can).
     */
    public static HttpClient client(Duration connectTimeout, HttpClient.Version version) {
        return HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connectTimeout)
                .version(version)
                .build();
    }

    /**
     * What a service answered.
     *
     * @param status  the HTTP status
     * @param headers the response headers
     * @param body    the body as UTF-8, at most {@link #MAX_ANSWER_BYTES} of it
     */
    public record Answer(int status, HttpHeaders headers, String body) {
        /** A header's first value. */
        public Optional<String> header(String name) {
            return headers.firstValue(name);
        }
    }

    /**
     * The client, when it does not follow redirects.
     *
     * @throws IllegalArgumentException when it does
     */
    public static HttpClient requireNoRedirects(HttpClient http) {
        if (http.followRedirects() != HttpClient.Redirect.NEVER) {
            throw new IllegalArgumentException("a push client must not follow redirects");
        }
        return http;
    }

    /**
     * Sends the request and turns the answer into an outcome; a request that gets no answer is
     * {@link #notAnswered}.
     */
    public static PushOutcome call(HttpClient http, HttpRequest request, Duration timeout,
                                   Function<Answer, PushOutcome> onAnswer) {
        Answer answer;
        try {
            answer = exchange(http, request);
        } catch (IOException | InterruptedException e) {
            return notAnswered(e, timeout);
        }
        return onAnswer.apply(answer);
    }

    /**
     * Sends the request and reads the answer up to the bound.
     *
     * @throws IllegalArgumentException when the client follows redirects
     * @throws IOException              when the service was not reached or did not answer in time
     * @throws InterruptedException     when the calling thread was interrupted
     */
    public static Answer exchange(HttpClient http, HttpRequest request) throws IOException, InterruptedException {
        requireNoRedirects(http);
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        byte[] body;
        try (InputStream in = response.body()) {
            body = in.readNBytes(MAX_ANSWER_BYTES);
        }
        return new Answer(response.statusCode(), response.headers(), new String(body, StandardCharsets.UTF_8));
    }

    /**
     * The service's {@code Retry-After}: delay-seconds or an HTTP date (RFC 9110); a date in the
     * past is no delay; anything unreadable is as if absent.
     */
    public static Optional<Duration> retryAfter(HttpHeaders headers, Clock clock) {
        Optional<String> value = headers.firstValue("Retry-After").map(String::trim);
        if (value.isEmpty() || value.get().isEmpty()) {
            return Optional.empty();
        }
        String v = value.get();
        if (v.chars().allMatch(Character::isDigit)) {
            // ten digits are three centuries: anything longer is not a delay worth honouring as given
            return Optional.of(Duration.ofSeconds(v.length() > 10 ? Long.MAX_VALUE / 1_000_000_000L : Long.parseLong(v)));
        }
        try {
            ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
            Duration d = Duration.between(clock.instant(), at.toInstant());
            return Optional.of(d.isNegative() ? Duration.ZERO : d);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** A retry-later outcome for a 429 or 5xx answer, with its {@code Retry-After}. */
    public static PushOutcome.RetryLater retryLater(Answer answer, Clock clock, String reason) {
        return new PushOutcome.RetryLater(answer.status(), retryAfter(answer.headers(), clock), reason);
    }

    /** The outcome of a request that got no answer (not reachable, timed out, interrupted). */
    public static PushOutcome.RetryLater notAnswered(Exception e, Duration timeout) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new PushOutcome.RetryLater(0, Optional.empty(), "interrupted before an answer");
        }
        String why = e instanceof HttpTimeoutException ? "no answer within " + timeout
                : "not reachable (" + e.getClass().getSimpleName() + ")";
        return new PushOutcome.RetryLater(0, Optional.empty(), why);
    }

    /** A short excerpt of a body for a reason (the reason's own bound applies after). */
    public static String excerpt(String body) {
        String oneLine = body.strip();
        return oneLine.length() > 120 ? oneLine.substring(0, 120) + "…" : oneLine;
    }
}
