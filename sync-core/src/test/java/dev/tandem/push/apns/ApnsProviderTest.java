package dev.tandem.push.apns;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.helidon.http.Header;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.push.Device;
import dev.tandem.testing.LocalHttpServer.Reply;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.PushHttp;
import dev.tandem.testing.MutableClock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * APNs against a local HTTP/2 server (cleartext h2c, where Apple uses h2 over TLS): the path, the
 * headers Apple documents, the provider token (ES256, kid, iss, iat, verified with the key's public
 * half) and the alert payload; and Apple's answers mapped to outcomes.
 */
class ApnsProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final String DEVICE_TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    /** A request as the stand-in APNs received it. */
    record Received(String protocolVersion, String path, Map<String, String> headers, byte[] body) {
    }

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(NOW);
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private volatile Function<Received, Reply> answer = r -> Reply.of(200).with("apns-id", "EC1BF194-B3B2-424A-89A2-5A2E5E2F5F7C");
    private WebServer apns;
    private KeyPair teamKey;
    private ApnsProvider provider;

    @BeforeEach
    void start() throws Exception {
        apns = WebServer.builder().host("127.0.0.1").port(0)
                .routing(r -> r.get("/ping", (req, res) -> res.send("pong"))
                        .post("/3/device/{token}", (req, res) -> {
                            Map<String, String> headers = new LinkedHashMap<>();
                            for (Header h : req.headers()) {
                                headers.put(h.name().toLowerCase(Locale.ROOT), h.get());
                            }
                            Received got = new Received(req.prologue().protocolVersion(), req.path().rawPath(), headers,
                                    req.content().as(byte[].class));
                            received.add(got);
                            Reply reply = answer.apply(got);
                            res.status(Status.create(reply.status()));
                            reply.headers().forEach(res::header);
                            res.send(reply.body().getBytes(StandardCharsets.UTF_8));
                        }))
                .build()
                .start();
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        teamKey = g.generateKeyPair();
        Path p8 = dir.resolve("AuthKey_ABC123DEFG.p8");
        Files.writeString(p8, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(teamKey.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        URI base = URI.create("http://127.0.0.1:" + apns.port());
        HttpClient http = PushHttp.client(Duration.ofSeconds(2), HttpClient.Version.HTTP_2);
        // over cleartext the JDK client reaches HTTP/2 by an upgrade, which this server takes only on a
        // request without a body: one GET makes the connection HTTP/2, and the sends reuse it
        HttpResponse<String> ping = http.send(HttpRequest.newBuilder(base.resolve("/ping")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(HttpClient.Version.HTTP_2, ping.version(), "the stand-in APNs speaks HTTP/2");
        provider = ApnsProvider.create(new PushSettings.Apns(p8, "ABC123DEFG", "DEF123GHIJ", "com.example.tandem", base),
                http, Duration.ofSeconds(5), clock);
    }

    @AfterEach
    void stop() {
        apns.stop();
    }

    @Test
    void anAlertIsPostedOverHttp2WithAppleHeadersAProviderTokenAndTheAlertPayload() throws Exception {
        PushOutcome outcome = provider.send(new Device.Apns(DEVICE_TOKEN.toUpperCase(Locale.ROOT), Device.Platform.IOS),
                new Notification("Conflict on A-1", "Choose a version", Optional.of("https://app.example/doc/A-1"),
                        Optional.of("conflict-A-1"), Duration.ofHours(1), Notification.Urgency.HIGH));

        assertEquals(new PushOutcome.Delivered(200, Optional.of("EC1BF194-B3B2-424A-89A2-5A2E5E2F5F7C")), outcome);
        Received r = received.getFirst();
        assertEquals("2.0", r.protocolVersion());
        assertEquals("/3/device/" + DEVICE_TOKEN, r.path());
        assertEquals("com.example.tandem", r.headers().get("apns-topic"));
        assertEquals("alert", r.headers().get("apns-push-type"));
        assertEquals(Long.toString(NOW.getEpochSecond() + 3600), r.headers().get("apns-expiration"));
        assertEquals("10", r.headers().get("apns-priority"));
        assertEquals("conflict-A-1", r.headers().get("apns-collapse-id"));

        JsonNode payload = JSON.readTree(r.body());
        assertEquals("Conflict on A-1", payload.at("/aps/alert/title").asText());
        assertEquals("Choose a version", payload.at("/aps/alert/body").asText());
        assertEquals("https://app.example/doc/A-1", payload.get("url").asText());

        String authorization = r.headers().get("authorization");
        assertTrue(authorization.startsWith("bearer "), authorization);
        String[] jwt = authorization.substring("bearer ".length()).split("\\.");
        JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(jwt[0]));
        assertEquals("ES256", header.get("alg").asText());
        assertEquals("ABC123DEFG", header.get("kid").asText());
        JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(jwt[1]));
        assertEquals("DEF123GHIJ", claims.get("iss").asText());
        assertEquals(NOW.getEpochSecond(), claims.get("iat").asLong());
        Signature verify = Signature.getInstance("SHA256withECDSAinP1363Format");
        verify.initVerify(teamKey.getPublic());
        verify.update((jwt[0] + "." + jwt[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(verify.verify(Base64.getUrlDecoder().decode(jwt[2])), "the provider token verifies with the team key");
    }

    @Test
    void aLowUrgencyNotificationWithoutTtlIsPriorityFiveAndExpiresAtOnce() {
        provider.send(device(), new Notification("t", "b", Optional.empty(), Optional.empty(), Duration.ZERO,
                Notification.Urgency.LOW));
        Received r = received.getFirst();
        assertEquals("5", r.headers().get("apns-priority"));
        assertEquals("0", r.headers().get("apns-expiration"));
        assertFalse(r.headers().containsKey("apns-collapse-id"));
    }

    @Test
    void theProviderTokenIsReusedThenRenewedWithinTheHour() {
        provider.send(device(), plain());
        clock.advance(Duration.ofMinutes(49));
        provider.send(device(), plain());
        clock.advance(Duration.ofMinutes(1));
        provider.send(device(), plain());
        assertEquals(received.get(0).headers().get("authorization"), received.get(1).headers().get("authorization"));
        assertNotEquals(received.get(1).headers().get("authorization"), received.get(2).headers().get("authorization"));
    }

    @Test
    void unregisteredAndBadTokensAreGone() {
        answer = r -> Reply.json(410, "{\"reason\":\"Unregistered\",\"timestamp\":1700000000000}");
        assertEquals(410, assertInstanceOf(PushOutcome.Gone.class, provider.send(device(), plain())).status());
        answer = r -> Reply.json(400, "{\"reason\":\"BadDeviceToken\"}");
        PushOutcome.Gone bad = assertInstanceOf(PushOutcome.Gone.class, provider.send(device(), plain()));
        assertTrue(bad.reason().contains("BadDeviceToken"), bad.reason());
    }

    @Test
    void tooManyRequestsAndServerErrorsAreRetried() {
        answer = r -> Reply.json(429, "{\"reason\":\"TooManyRequests\"}").with("Retry-After", "60");
        assertEquals(Optional.of(Duration.ofSeconds(60)),
                assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device(), plain())).retryAfter());
        answer = r -> Reply.json(503, "{\"reason\":\"ServiceUnavailable\"}");
        assertEquals(503, assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device(), plain())).status());
    }

    @Test
    void anExpiredProviderTokenIsRetriedWithANewOneAndOtherRefusalsAreRejected() {
        answer = r -> Reply.json(403, "{\"reason\":\"ExpiredProviderToken\"}");
        assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device(), plain()));
        clock.advance(Duration.ofSeconds(1));
        answer = r -> Reply.of(200);
        assertInstanceOf(PushOutcome.Delivered.class, provider.send(device(), plain()));
        assertNotEquals(received.get(0).headers().get("authorization"), received.get(1).headers().get("authorization"));

        answer = r -> Reply.json(400, "{\"reason\":\"PayloadEmpty\"}");
        PushOutcome.Rejected rejected = assertInstanceOf(PushOutcome.Rejected.class, provider.send(device(), plain()));
        assertEquals(400, rejected.status());
        assertTrue(rejected.reason().contains("PayloadEmpty"), rejected.reason());
    }

    private static Device.Apns device() {
        return new Device.Apns(DEVICE_TOKEN, Device.Platform.IOS);
    }

    private static Notification plain() {
        return Notification.of("t", "b", Duration.ofMinutes(5));
    }
}
