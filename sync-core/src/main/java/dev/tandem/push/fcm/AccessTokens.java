package dev.tandem.push.fcm;

import java.io.IOException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tandem.push.PushOutcome;
import dev.tandem.push.support.Jws;
import dev.tandem.push.support.PushHttp;

/**
 * OAuth2 access tokens for the service account (the JWT bearer grant, RFC 7523, as Google's
 * service-account flow uses it): an RS256 assertion with {@code iss}, {@code scope}, {@code aud} =
 * the token URI, {@code iat} and {@code exp} one hour later, exchanged at the token URI. A token is
 * kept until {@link #REFRESH_MARGIN} before it expires; one request at a time fetches it while the
 * others wait for that one (no lock is held during the request).
 */
final class AccessTokens {
    /** The scope FCM's send API asks for. */
    static final String SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
    /** A token is renewed this long before it expires. */
    static final Duration REFRESH_MARGIN = Duration.ofMinutes(5);
    /** The assertion's lifetime (Google's maximum). */
    static final Duration ASSERTION_LIFETIME = Duration.ofHours(1);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServiceAccount account;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;
    private final AtomicReference<CompletableFuture<Token>> current = new AtomicReference<>();

    private record Token(String value, Instant renewAt) {
    }

    /** A token could not be had; the outcome says whether to retry. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient PushOutcome outcome;

        Failure(PushOutcome outcome) {
            super(outcome.toString(), null, false, false);
            this.outcome = outcome;
        }

        PushOutcome outcome() {
            return outcome;
        }
    }

    AccessTokens(ServiceAccount account, HttpClient http, Duration timeout, Clock clock) {
        this.account = account;
        this.http = http;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** A valid access token, fetched when there is none or it is about to expire. */
    String get() throws Failure {
        while (true) {
            CompletableFuture<Token> f = current.get();
            if (f != null && !f.isDone()) {
                return await(f);
            }
            if (f != null && !f.isCompletedExceptionally() && clock.instant().isBefore(f.join().renewAt())) {
                return f.join().value();
            }
            CompletableFuture<Token> mine = new CompletableFuture<>();
            if (current.compareAndSet(f, mine)) {
                try {
                    Token t = fetch();
                    mine.complete(t);
                    return t.value();
                } catch (Failure | RuntimeException e) {
                    mine.completeExceptionally(e);
                    current.compareAndSet(mine, null); // the next caller tries again
                    throw e;
                }
            }
        }
    }

    /** Forgets this token (FCM refused it), so the next {@link #get} fetches a new one. */
    void invalidate(String value) {
        CompletableFuture<Token> f = current.get();
        if (f != null && f.isDone() && !f.isCompletedExceptionally() && f.join().value().equals(value)) {
            current.compareAndSet(f, null);
        }
    }

    private String await(CompletableFuture<Token> f) throws Failure {
        try {
            return f.get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS).value();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Failure failure) {
                throw failure;
            }
            throw new Failure(new PushOutcome.RetryLater(0, Optional.empty(), "the access token could not be had"));
        } catch (TimeoutException e) {
            throw new Failure(new PushOutcome.RetryLater(0, Optional.empty(), "no access token within " + timeout));
        } catch (InterruptedException e) {
            throw new Failure(PushHttp.notAnswered(e, timeout));
        }
    }

    private Token fetch() throws Failure {
        Instant now = clock.instant();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("iss", account.clientEmail());
        claims.put("scope", SCOPE);
        claims.put("aud", account.tokenUri().toString());
        claims.put("iat", now.getEpochSecond());
        claims.put("exp", now.plus(ASSERTION_LIFETIME).getEpochSecond());
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("typ", "JWT");
        if (!account.privateKeyId().isEmpty()) {
            header.put("kid", account.privateKeyId());
        }
        String assertion = Jws.sign(Jws.Alg.RS256, header, claims, account.privateKey());
        String form = "grant_type=" + URLEncoder.encode("urn:ietf:params:oauth:grant-type:jwt-bearer", StandardCharsets.UTF_8)
                + "&assertion=" + assertion;
        HttpRequest request = HttpRequest.newBuilder(account.tokenUri())
                .timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form, StandardCharsets.US_ASCII))
                .build();
        PushHttp.Answer answer;
        try {
            answer = PushHttp.exchange(http, request);
        } catch (IOException | InterruptedException e) {
            throw new Failure(PushHttp.notAnswered(e, timeout));
        }
        int status = answer.status();
        JsonNode json = parse(answer.body());
        if (status == 200 && json.path("access_token").isTextual() && json.path("expires_in").canConvertToLong()) {
            long seconds = json.path("expires_in").asLong();
            Duration life = Duration.ofSeconds(Math.max(seconds, 0));
            // renew REFRESH_MARGIN early, or halfway through a lifetime shorter than twice the margin
            Duration keep = life.compareTo(REFRESH_MARGIN.multipliedBy(2)) >= 0 ? life.minus(REFRESH_MARGIN) : life.dividedBy(2);
            return new Token(json.path("access_token").asText(), now.plus(keep));
        }
        if (status == 429 || status / 100 == 5) {
            throw new Failure(PushHttp.retryLater(answer, clock, "the token endpoint answered HTTP " + status));
        }
        // Google's error codes (invalid_grant, invalid_client…) name no secret; the description may quote the assertion
        String error = json.path("error").asText("");
        throw new Failure(new PushOutcome.Rejected(status, "the token endpoint refused the service account (HTTP "
                + status + (error.isEmpty() ? "" : ", " + error) + ")"));
    }

    /** The body as JSON, or an empty object when it is not JSON. */
    static JsonNode parse(String body) {
        try {
            JsonNode n = JSON.readTree(body);
            return n == null ? JSON.createObjectNode() : n;
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }
}
