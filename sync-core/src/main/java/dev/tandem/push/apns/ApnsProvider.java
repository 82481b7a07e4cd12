package dev.tandem.push.apns;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.PrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.push.Device;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushProvider;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.EcKeys;
import dev.tandem.push.support.PushHttp;

/**
 * Sends an alert through APNs: an HTTP/2 {@code POST /3/device/{token}} with {@code authorization:
 * bearer <provider token>}, {@code apns-topic} (the bundle id), {@code apns-push-type: alert},
 * {@code apns-expiration} (0 for a time to live of 0: now or never), {@code apns-priority} (10 for
 * normal and high urgency, 5 below), {@code apns-collapse-id} for a tagged notification, and the
 * payload {@code {"aps":{"alert":{"title","body"}},"url"}}.
 *
 * <p>Answers: 200 delivered (with the {@code apns-id}); 410, {@code BadDeviceToken} and {@code
 * DeviceTokenNotForTopic} gone; 429 and 5xx retry later with {@code Retry-After};
 * {@code ExpiredProviderToken} retry later with a new token; anything else rejected with Apple's
 * reason.
 */
public final class ApnsProvider implements PushProvider<Device.Apns> {
    /** Largest payload APNs takes for an alert, in bytes. */
    public static final int MAX_PAYLOAD = 4096;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> GONE = Set.of("BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered",
            "ExpiredToken");

    private final String base;
    private final String topic;
    private final ProviderToken tokens;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;

    /**
     * A provider signing with this key.
     *
     * @param settings   the APNs settings (host, key id, team id, topic)
     * @param signingKey the {@code .p8} key
     * @param http       an HTTP/2 client that does not follow redirects
     *                   ({@code PushHttp.client(timeout, HttpClient.Version.HTTP_2)})
     * @param timeout    time for one request
     * @param clock      the clock for tokens, expirations and {@code Retry-After} dates
     */
    public ApnsProvider(PushSettings.Apns settings, PrivateKey signingKey, HttpClient http, Duration timeout, Clock clock) {
        this.base = settings.url().toString().replaceAll("/+$", "");
        this.topic = settings.topic();
        this.tokens = new ProviderToken(Objects.requireNonNull(signingKey, "signingKey"), settings.keyId(),
                settings.teamId(), clock);
        this.http = PushHttp.requireNoRedirects(http);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A provider with the signing key read from the configured {@code .p8} file. */
    public static ApnsProvider create(PushSettings.Apns settings, HttpClient http, Duration timeout, Clock clock)
            throws IOException {
        PrivateKey key = EcKeys.pkcs8Pem(Files.readString(settings.keyFile(), StandardCharsets.US_ASCII), "EC",
                "the APNs key file " + settings.keyFile());
        return new ApnsProvider(settings, key, http, timeout, clock);
    }

    @Override
    public PushOutcome send(Device.Apns device, Notification notification) {
        byte[] payload = payload(notification).toString().getBytes(StandardCharsets.UTF_8);
        if (payload.length > MAX_PAYLOAD) {
            return new PushOutcome.Rejected(0, "the notification is " + payload.length + " bytes as an APNs payload, "
                    + "more than " + MAX_PAYLOAD);
        }
        long ttl = notification.ttl().toSeconds();
        String token = tokens.get();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/3/device/" + device.token()))
                .timeout(timeout)
                .header("authorization", "bearer " + token)
                .header("apns-topic", topic)
                .header("apns-push-type", "alert")
                .header("apns-expiration", ttl == 0 ? "0" : Long.toString(clock.instant().plusSeconds(ttl).getEpochSecond()))
                .header("apns-priority", notification.urgency().compareTo(Notification.Urgency.NORMAL) >= 0 ? "10" : "5")
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(payload));
        notification.tag().ifPresent(tag -> request.header("apns-collapse-id", tag));
        return PushHttp.call(http, request.build(), timeout, answer -> outcome(answer, token));
    }

    private PushOutcome outcome(PushHttp.Answer answer, String token) {
        int status = answer.status();
        if (status == 200) {
            return new PushOutcome.Delivered(status, answer.header("apns-id"));
        }
        String reason = reason(answer.body());
        String why = "APNs answered HTTP " + status + (reason.isEmpty() ? "" : " " + reason);
        if (status == 410 || GONE.contains(reason)) {
            return new PushOutcome.Gone(status, why);
        }
        if (reason.equals("ExpiredProviderToken")) {
            tokens.expire(token);
            return new PushOutcome.RetryLater(status, Optional.empty(), why + " (a new provider token is made)");
        }
        if (status == 429 || status / 100 == 5) {
            return PushHttp.retryLater(answer, clock, why);
        }
        return new PushOutcome.Rejected(status, why);
    }

    /** The alert payload. */
    static ObjectNode payload(Notification n) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("aps").putObject("alert").put("title", n.title()).put("body", n.body());
        n.url().ifPresent(u -> root.put("url", u));
        return root;
    }

    /** Apple's {@code reason}, when the body is {@code {"reason": "..."}} with a plain word. */
    private static String reason(String body) {
        try {
            JsonNode n = JSON.readTree(body);
            String r = n == null ? "" : n.path("reason").asText("");
            return r.matches("[A-Za-z]{1,64}") ? r : "";
        } catch (IOException e) {
            return "";
        }
    }
}
