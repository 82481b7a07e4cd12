package dev.tandem.push.webpush;

import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tandem.push.Device;
import dev.tandem.push.EndpointAllowList;
import dev.tandem.testing.LocalHttpServer;
import dev.tandem.testing.LocalHttpServer.Reply;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.PushHttp;
import dev.tandem.testing.MutableClock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The test plays the push service: a browser-made subscription, the provider posting to a local
 * server, and the message decrypted with the subscriber's private key and the VAPID token checked
 * with the public key the request names.
 */
class WebPushProviderTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-11-22T10:00:00Z");
    private static final String SUBJECT = "mailto:ops@example.com";

    private final MutableClock clock = new MutableClock(NOW);
    private LocalHttpServer service;
    private VapidKeys keys;
    private Subscriber browser;
    private Device.WebPush device;
    private WebPushProvider provider;

    @BeforeEach
    void start() throws Exception {
        service = LocalHttpServer.start();
        service.on("/wpush/", r -> Reply.of(201).with("Location", "https://push.example/m/123"));
        keys = VapidKeys.generate();
        browser = Subscriber.create();
        device = Device.WebPush.of(service.uri("/wpush/v2/abc").toString(), browser.p256dh(), browser.auth());
        provider = provider(EndpointAllowList.publicServices(true));
    }

    @AfterEach
    void stop() {
        service.close();
    }

    @Test
    void thePushServiceGetsAMessageOnlyTheSubscriberCanReadAndAValidVapidToken() throws Exception {
        Notification n = new Notification("Conflict on A-1", "Your edit to A-1 conflicts.\nOpen it to choose.",
                Optional.of("/demo/#doc=A-1"), Optional.of("conflict-A-1"), Duration.ofHours(1),
                Notification.Urgency.HIGH);

        PushOutcome outcome = provider.send(device, n);

        assertEquals(new PushOutcome.Delivered(201, Optional.of("https://push.example/m/123")), outcome);
        LocalHttpServer.Request req = service.requests().getFirst();
        assertEquals("POST", req.method());
        assertEquals("/wpush/v2/abc", req.path());
        assertEquals("3600", req.header("TTL"));
        assertEquals("high", req.header("Urgency"));
        assertEquals("aes128gcm", req.header("Content-Encoding"));
        assertEquals("application/octet-stream", req.header("Content-Type"));
        assertTrue(req.header("Topic").matches("[A-Za-z0-9_-]{32}"), "RFC 8030: a topic is at most 32 base64url characters");

        JsonNode shown = JSON.readTree(new String(browser.decrypt(req.body()), StandardCharsets.UTF_8));
        assertEquals("Conflict on A-1", shown.get("title").asText());
        assertEquals("Your edit to A-1 conflicts.\nOpen it to choose.", shown.get("body").asText());
        assertEquals("/demo/#doc=A-1", shown.get("url").asText());
        assertEquals("conflict-A-1", shown.get("tag").asText());

        JsonNode claims = verifiedVapidClaims(req.header("Authorization"));
        assertEquals("http://127.0.0.1:" + service.port(), claims.get("aud").asText(), "aud is the endpoint's origin");
        assertEquals(SUBJECT, claims.get("sub").asText());
        long exp = claims.get("exp").asLong();
        assertEquals(NOW.plus(Duration.ofHours(12)).getEpochSecond(), exp);
        assertTrue(exp <= NOW.plus(Duration.ofHours(24)).getEpochSecond(), "RFC 8292: exp at most 24 h ahead");
    }

    @Test
    void theSameTagGivesTheSameTopicAndNoTagNoTopic() {
        provider.send(device, tagged("stock-A-1"));
        provider.send(device, tagged("stock-A-1"));
        provider.send(device, tagged("stock-B-2"));
        provider.send(device, Notification.of("t", "b", Duration.ofMinutes(5)));
        var r = service.requests();
        assertEquals(r.get(0).header("Topic"), r.get(1).header("Topic"));
        assertNotEquals(r.get(0).header("Topic"), r.get(2).header("Topic"));
        assertEquals(null, r.get(3).header("Topic"));
        assertEquals("300", r.get(3).header("TTL"));
        assertEquals("normal", r.get(3).header("Urgency"));
    }

    @Test
    void aVapidTokenIsReusedUntilHalfItsLifetimeThenRenewed() throws Exception {
        Notification n = Notification.of("t", "b", Duration.ZERO);
        provider.send(device, n);
        clock.advance(Duration.ofHours(5));
        provider.send(device, n);
        clock.advance(Duration.ofHours(1).plusSeconds(1));
        provider.send(device, n);
        var r = service.requests();
        assertEquals(r.get(0).header("Authorization"), r.get(1).header("Authorization"));
        assertNotEquals(r.get(1).header("Authorization"), r.get(2).header("Authorization"));
        assertEquals(clock.instant().plus(Duration.ofHours(12)).getEpochSecond(),
                verifiedVapidClaims(r.get(2).header("Authorization")).get("exp").asLong());
    }

    @Test
    void notFoundAndGoneMeanTheDeviceIsGone() {
        service.on("/wpush/", r -> Reply.of(404));
        assertInstanceOf(PushOutcome.Gone.class, provider.send(device, plain()));
        service.on("/wpush/", r -> Reply.of(410));
        PushOutcome gone = provider.send(device, plain());
        assertEquals(410, assertInstanceOf(PushOutcome.Gone.class, gone).status());
    }

    @Test
    void tooManyRequestsIsRetriedAfterTheServicesDelayInEitherForm() {
        service.on("/wpush/", r -> Reply.of(429).with("Retry-After", "120"));
        assertEquals(new PushOutcome.RetryLater(429, Optional.of(Duration.ofSeconds(120)), "the push service answered HTTP 429"),
                provider.send(device, plain()));

        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(NOW.plusSeconds(90).atOffset(ZoneOffset.UTC));
        service.on("/wpush/", r -> Reply.of(429).with("Retry-After", date));
        PushOutcome.RetryLater later = assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device, plain()));
        assertEquals(Optional.of(Duration.ofSeconds(90)), later.retryAfter());
    }

    @Test
    void aServerErrorIsRetriedAndTooLargeIsRejected() {
        service.on("/wpush/", r -> Reply.of(500));
        PushOutcome.RetryLater later = assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device, plain()));
        assertEquals(500, later.status());
        assertEquals(Optional.empty(), later.retryAfter());

        service.on("/wpush/", r -> Reply.of(413));
        assertEquals(413, assertInstanceOf(PushOutcome.Rejected.class, provider.send(device, plain())).status());

        service.on("/wpush/", r -> Reply.json(400, "{\"error\":\"bad\u0007\"}"));
        PushOutcome.Rejected bad = assertInstanceOf(PushOutcome.Rejected.class, provider.send(device, plain()));
        assertTrue(bad.reason().contains("HTTP 400") && bad.reason().contains("\\u0007"),
                "the service's words are quoted with control characters escaped: " + bad.reason());
    }

    @Test
    void aRedirectIsNotFollowed() {
        service.on("/wpush/", r -> Reply.of(307).with("Location", service.uri("/elsewhere").toString()));
        service.on("/elsewhere", r -> Reply.of(201));
        assertEquals(307, assertInstanceOf(PushOutcome.Rejected.class, provider.send(device, plain())).status());
        assertEquals(0, service.requests("/elsewhere").size());
    }

    @Test
    void anEndpointOffTheAllowListIsNeverCalled() {
        WebPushProvider strict = provider(EndpointAllowList.publicServices(false));
        PushOutcome.Rejected refused = assertInstanceOf(PushOutcome.Rejected.class, strict.send(device, plain()));
        assertEquals(0, refused.status());
        assertEquals(0, service.requests().size());
    }

    @Test
    void anUnreachableServiceIsRetriedLater() {
        service.close();
        PushOutcome.RetryLater later = assertInstanceOf(PushOutcome.RetryLater.class, provider.send(device, plain()));
        assertEquals(0, later.status());
    }

    @Test
    void aNotificationTooLargeForOneMessageIsRejectedBeforeSending() {
        Notification big = new Notification("€".repeat(Notification.MAX_TITLE), "€".repeat(Notification.MAX_BODY),
                Optional.of("https://example.com/" + "a".repeat(Notification.MAX_URL - 20)), Optional.empty(), Duration.ofHours(1), Notification.Urgency.NORMAL);
        PushOutcome.Rejected refused = assertInstanceOf(PushOutcome.Rejected.class, provider.send(device, big));
        assertEquals(0, refused.status());
        assertEquals(0, service.requests().size());
    }

    private WebPushProvider provider(EndpointAllowList allowList) {
        return new WebPushProvider(new PushSettings.WebPush(true, Optional.empty(), SUBJECT, Duration.ofHours(12)), keys,
                allowList, PushHttp.client(Duration.ofSeconds(2), java.net.http.HttpClient.Version.HTTP_1_1),
                Duration.ofSeconds(5), clock);
    }

    /** Checks the header's form, that k is our public key and that t is signed with it; answers t's claims. */
    private JsonNode verifiedVapidClaims(String authorization) throws Exception {
        var m = java.util.regex.Pattern.compile("vapid t=([A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)")
                .matcher(authorization);
        assertTrue(m.matches(), "RFC 8292 header form: " + authorization);
        String jwt = m.group(1);
        byte[] k = Subscriber.unb64(m.group(2));
        assertEquals(keys.publicKeyBase64Url(), m.group(2));
        ECPublicKey signer = Subscriber.publicKeyOf(k);
        String[] parts = jwt.split("\\.");
        JsonNode header = JSON.readTree(Subscriber.unb64(parts[0]));
        assertEquals("ES256", header.get("alg").asText());
        assertEquals("JWT", header.get("typ").asText());
        Signature verify = Signature.getInstance("SHA256withECDSAinP1363Format");
        verify.initVerify(signer);
        verify.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
        assertTrue(verify.verify(Subscriber.unb64(parts[2])), "the VAPID JWT verifies with k");
        return JSON.readTree(Subscriber.unb64(parts[1]));
    }

    private static Notification tagged(String tag) {
        return new Notification("t", "b", Optional.empty(), Optional.of(tag), Duration.ofMinutes(5), Notification.Urgency.LOW);
    }

    private static Notification plain() {
        return Notification.of("t", "b", Duration.ofMinutes(5));
    }
}
