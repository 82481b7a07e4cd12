package dev.tandem.push.fcm;

import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.push.Device;
import dev.tandem.testing.LocalHttpServer;
import dev.tandem.testing.LocalHttpServer.Reply;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.PushHttp;
import dev.tandem.testing.MutableClock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * FCM HTTP v1 against a local server standing in for Google's token endpoint and FCM: the
 * service-account assertion is checked the way Google documents it (RS256 signed by the account's
 * key, iss, scope, aud, iat, exp), and so are the send URL, the bearer token and the message.
 */
class FcmProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final String SEND_PATH = "/v1/projects/tandem-demo/messages:send";
    private static final String ANDROID_TOKEN = "dXyZ12:APA91bH-token_for.android";

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(NOW);
    private LocalHttpServer google;
    private KeyPair accountKey;
    private FcmProvider provider;
    private int tokensIssued;

    @BeforeEach
    void start() throws Exception {
        google = LocalHttpServer.start();
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        accountKey = g.generateKeyPair();
        google.on("/token", r -> Reply.json(200, "{\"access_token\":\"ya29.token-" + (++tokensIssued)
                + "\",\"expires_in\":3599,\"token_type\":\"Bearer\"}"));
        google.on(SEND_PATH, r -> Reply.json(200, "{\"name\":\"projects/tandem-demo/messages/0:1500415314455276%31bd1c96\"}"));
        Path file = dir.resolve("service-account.json");
        Files.writeString(file, serviceAccountJson());
        PushSettings.Fcm settings = new PushSettings.Fcm(file, Optional.empty(), google.uri(""));
        provider = FcmProvider.create(settings, PushHttp.client(Duration.ofSeconds(2), HttpClient.Version.HTTP_1_1),
                Duration.ofSeconds(5), clock);
    }

    @AfterEach
    void stop() {
        google.close();
    }

    @Test
    void theAssertionIsSignedByTheAccountAndExchangedForTheBearerTokenThatSendsTheMessage() throws Exception {
        PushOutcome outcome = provider.send(new Device.Fcm(ANDROID_TOKEN, Device.Platform.ANDROID), new Notification(
                "Stock low", "A-1 at wh-7: 3 left", Optional.of("https://app.example/stock/A-1"), Optional.of("stock-A-1"),
                Duration.ofHours(2), Notification.Urgency.HIGH));

        assertEquals(new PushOutcome.Delivered(200, Optional.of("projects/tandem-demo/messages/0:1500415314455276%31bd1c96")),
                outcome);
        LocalHttpServer.Request tokenRequest = google.requests("/token").getFirst();
        assertEquals("POST", tokenRequest.method());
        assertEquals("application/x-www-form-urlencoded", tokenRequest.header("Content-Type"));
        Map<String, String> form = form(tokenRequest.text());
        assertEquals("urn:ietf:params:oauth:grant-type:jwt-bearer", form.get("grant_type"));
        JsonNode claims = verifiedRs256(form.get("assertion"));
        assertEquals("push@tandem-demo.iam.gserviceaccount.com", claims.get("iss").asText());
        assertEquals("https://www.googleapis.com/auth/firebase.messaging", claims.get("scope").asText());
        assertEquals(google.uri("/token").toString(), claims.get("aud").asText());
        assertEquals(NOW.getEpochSecond(), claims.get("iat").asLong());
        assertEquals(NOW.getEpochSecond() + 3600, claims.get("exp").asLong(), "Google accepts at most one hour");

        LocalHttpServer.Request send = google.requests(SEND_PATH).getFirst();
        assertEquals("POST", send.method());
        assertEquals("Bearer ya29.token-1", send.header("Authorization"));
        assertTrue(send.header("Content-Type").startsWith("application/json"));
        JsonNode message = JSON.readTree(send.body()).get("message");
        assertEquals(ANDROID_TOKEN, message.get("token").asText());
        assertEquals("Stock low", message.at("/notification/title").asText());
        assertEquals("A-1 at wh-7: 3 left", message.at("/notification/body").asText());
        assertEquals("https://app.example/stock/A-1", message.at("/data/url").asText());
        assertEquals("7200s", message.at("/android/ttl").asText(), "a Duration in JSON: seconds with an s");
        assertEquals("HIGH", message.at("/android/priority").asText());
        assertEquals("stock-A-1", message.at("/android/collapse_key").asText());
        assertFalse(message.has("webpush") || message.has("apns"), "only the device platform's block");
    }

    @Test
    void webAndApplePlatformsGetTheirOwnBlocks() throws Exception {
        Notification n = new Notification("t", "b", Optional.of("https://app.example/x"), Optional.empty(),
                Duration.ofMinutes(10), Notification.Urgency.LOW);
        provider.send(new Device.Fcm("web-token", Device.Platform.WEB), n);
        provider.send(new Device.Fcm("ios-token", Device.Platform.IOS), n);
        JsonNode web = JSON.readTree(google.requests(SEND_PATH).get(0).body()).get("message");
        assertEquals("600", web.at("/webpush/headers/TTL").asText());
        assertEquals("low", web.at("/webpush/headers/Urgency").asText());
        assertEquals("https://app.example/x", web.at("/webpush/fcm_options/link").asText());
        JsonNode ios = JSON.readTree(google.requests(SEND_PATH).get(1).body()).get("message");
        assertEquals(Long.toString(NOW.getEpochSecond() + 600), ios.at("/apns/headers/apns-expiration").asText());
        assertEquals("5", ios.at("/apns/headers/apns-priority").asText());
    }

    @Test
    void theAccessTokenIsKeptUntilShortlyBeforeItExpires() {
        Device.Fcm device = new Device.Fcm(ANDROID_TOKEN, Device.Platform.ANDROID);
        provider.send(device, plain());
        clock.advance(Duration.ofMinutes(54));
        provider.send(device, plain());
        assertEquals(1, google.requests("/token").size());
        clock.advance(Duration.ofMinutes(1));
        provider.send(device, plain());
        assertEquals(2, google.requests("/token").size(), "renewed five minutes before expires_in");
        assertEquals("Bearer ya29.token-2", google.requests(SEND_PATH).get(2).header("Authorization"));
    }

    @Test
    void concurrentSendsFetchOneToken() throws Exception {
        google.on("/token", r -> {
            sleep(300);
            return Reply.json(200, "{\"access_token\":\"ya29.slow\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
        });
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        CountDownLatch go = new CountDownLatch(1);
        java.util.List<Future<PushOutcome>> sends = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            sends.add(pool.submit(() -> {
                go.await();
                return provider.send(new Device.Fcm(ANDROID_TOKEN, Device.Platform.ANDROID), plain());
            }));
        }
        go.countDown();
        for (Future<PushOutcome> f : sends) {
            assertInstanceOf(PushOutcome.Delivered.class, f.get());
        }
        pool.close();
        assertEquals(1, google.requests("/token").size());
    }

    @Test
    void anUnregisteredTokenIsGone() {
        google.on(SEND_PATH, r -> Reply.json(404, fcmError(404, "NOT_FOUND", "UNREGISTERED")));
        PushOutcome.Gone gone = assertInstanceOf(PushOutcome.Gone.class, send());
        assertTrue(gone.reason().contains("UNREGISTERED"), gone.reason());
        google.on(SEND_PATH, r -> Reply.json(403, fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")));
        assertInstanceOf(PushOutcome.Gone.class, send());
    }

    @Test
    void quotaAndUnavailableAreRetriedAfterRetryAfter() {
        google.on(SEND_PATH, r -> Reply.json(429, fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")).with("Retry-After", "30"));
        PushOutcome.RetryLater later = assertInstanceOf(PushOutcome.RetryLater.class, send());
        assertEquals(Optional.of(Duration.ofSeconds(30)), later.retryAfter());
        google.on(SEND_PATH, r -> Reply.json(503, fcmError(503, "UNAVAILABLE", "UNAVAILABLE")).with("Retry-After", "5"));
        assertEquals(Optional.of(Duration.ofSeconds(5)),
                assertInstanceOf(PushOutcome.RetryLater.class, send()).retryAfter());
    }

    @Test
    void anInvalidArgumentIsRejectedAndARefusedAccessTokenIsRenewed() {
        google.on(SEND_PATH, r -> Reply.json(400, fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")));
        assertEquals(400, assertInstanceOf(PushOutcome.Rejected.class, send()).status());

        google.on(SEND_PATH, r -> Reply.json(401, "{\"error\":{\"code\":401,\"status\":\"UNAUTHENTICATED\"}}"));
        assertInstanceOf(PushOutcome.RetryLater.class, send());
        google.on(SEND_PATH, r -> Reply.json(200, "{\"name\":\"projects/tandem-demo/messages/2\"}"));
        assertInstanceOf(PushOutcome.Delivered.class, send());
        assertEquals("Bearer ya29.token-2", google.requests(SEND_PATH).getLast().header("Authorization"));
    }

    @Test
    void aServiceAccountTheTokenEndpointRefusesRejectsWithoutSending() {
        google.on("/token", r -> Reply.json(400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}"));
        PushOutcome.Rejected refused = assertInstanceOf(PushOutcome.Rejected.class, send());
        assertEquals(400, refused.status());
        assertTrue(refused.reason().contains("invalid_grant"), refused.reason());
        assertEquals(0, google.requests(SEND_PATH).size());

        google.on("/token", r -> Reply.of(503));
        assertInstanceOf(PushOutcome.RetryLater.class, send());
    }

    private PushOutcome send() {
        return provider.send(new Device.Fcm(ANDROID_TOKEN, Device.Platform.ANDROID), plain());
    }

    private static Notification plain() {
        return Notification.of("t", "b", Duration.ofMinutes(5));
    }

    private static String fcmError(int code, String status, String errorCode) {
        return "{\"error\":{\"code\":" + code + ",\"message\":\"Requested entity was not found.\",\"status\":\"" + status
                + "\",\"details\":[{\"@type\":\"type.googleapis.com/google.firebase.fcm.v1.FcmError\",\"errorCode\":\""
                + errorCode + "\"}]}}";
    }

    private String serviceAccountJson() {
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(accountKey.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        ObjectNode json = JSON.createObjectNode();
        json.put("type", "service_account");
        json.put("project_id", "tandem-demo");
        json.put("private_key_id", "0123456789abcdef");
        json.put("private_key", pem);
        json.put("client_email", "push@tandem-demo.iam.gserviceaccount.com");
        json.put("client_id", "1234567890");
        json.put("token_uri", google.uri("/token").toString());
        return json.toString();
    }

    private JsonNode verifiedRs256(String jwt) throws Exception {
        String[] parts = jwt.split("\\.");
        assertEquals(3, parts.length);
        JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
        assertEquals("RS256", header.get("alg").asText());
        assertEquals("0123456789abcdef", header.get("kid").asText());
        Signature v = Signature.getInstance("SHA256withRSA");
        v.initVerify(accountKey.getPublic());
        v.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(v.verify(Base64.getUrlDecoder().decode(parts[2])), "the assertion verifies with the account's public key");
        return JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    }

    private static Map<String, String> form(String body) {
        Map<String, String> out = new HashMap<>();
        for (String pair : body.split("&")) {
            int eq = pair.indexOf('=');
            out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
