package dev.tandem.push.webpush;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tandem.push.Device;
import dev.tandem.push.EndpointAllowList;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushProvider;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.EcKeys;
import dev.tandem.push.support.PushHttp;

/**
 * Sends to a browser's push subscription (RFC 8030): a POST to the subscription's endpoint with
 * the notification as JSON encrypted for the subscriber (RFC 8291, {@code aes128gcm}), the VAPID
 * {@code Authorization} (RFC 8292), {@code TTL}, {@code Urgency} and, for a tagged notification, a
 * {@code Topic} under which the push service replaces an undelivered earlier one.
 *
 * <p>The service worker receives {@code {"title":…,"body":…,"url":…,"tag":…}} ({@code url} and
 * {@code tag} only when set) as the push event's data.
 *
 * <p>Answers: 2xx delivered (with the message's {@code Location}); 404 and 410 gone; 429 and 5xx
 * retry later (with {@code Retry-After}); 413 and any other status rejected. An endpoint the
 * {@link EndpointAllowList} refuses is rejected without a request, and redirects are not followed.
 */
public final class WebPushProvider implements PushProvider<Device.WebPush> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final EndpointAllowList allowList;
    private final VapidTokens vapid;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;

    /**
     * A provider signing with these keys.
     *
     * @param settings  the web push settings (subject, token lifetime)
     * @param keys      the VAPID key pair
     * @param allowList the endpoint hosts that may be called
     * @param http      a client that does not follow redirects ({@link PushHttp#client})
     * @param timeout   time for one request
     * @param clock     the clock for tokens and {@code Retry-After} dates
     */
    public WebPushProvider(PushSettings.WebPush settings, VapidKeys keys, EndpointAllowList allowList, HttpClient http,
                           Duration timeout, Clock clock) {
        this.allowList = Objects.requireNonNull(allowList, "allowList");
        this.vapid = new VapidTokens(Objects.requireNonNull(keys, "keys"), settings.subject(), settings.tokenLifetime(), clock);
        this.http = PushHttp.requireNoRedirects(http);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public PushOutcome send(Device.WebPush device, Notification notification) {
        Optional<String> refusal = allowList.refusal(device.endpoint());
        if (refusal.isPresent()) {
            return new PushOutcome.Rejected(0, refusal.get());
        }
        byte[] payload = payload(notification);
        if (payload.length > MessageEncryption.MAX_PLAINTEXT) {
            return new PushOutcome.Rejected(0, "the notification is " + payload.length + " bytes as JSON, more than the "
                    + MessageEncryption.MAX_PLAINTEXT + " a web push message carries");
        }
        byte[] body = MessageEncryption.encrypt(payload, device.publicKeyBytes(), device.authSecret());
        HttpRequest.Builder request = HttpRequest.newBuilder(device.endpoint())
                .timeout(timeout)
                .header("Authorization", vapid.authorization(device.endpoint()))
                .header("TTL", Long.toString(notification.ttl().toSeconds()))
                .header("Urgency", notification.urgency().wire())
                .header("Content-Encoding", "aes128gcm")
                .header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        notification.tag().ifPresent(tag -> request.header("Topic", topic(tag)));
        return PushHttp.call(http, request.build(), timeout, this::outcome);
    }

    private PushOutcome outcome(PushHttp.Answer answer) {
        int status = answer.status();
        if (status / 100 == 2) {
            return new PushOutcome.Delivered(status, answer.header("Location"));
        }
        if (status == 404 || status == 410) {
            return new PushOutcome.Gone(status, "the push service no longer knows the subscription (HTTP " + status + ")");
        }
        if (status == 429 || status / 100 == 5) {
            return PushHttp.retryLater(answer, clock, "the push service answered HTTP " + status);
        }
        if (status == 413) {
            return new PushOutcome.Rejected(status, "the push service found the message too large (HTTP 413)");
        }
        if (status / 100 == 3) {
            return new PushOutcome.Rejected(status, "the push service answered a redirect, which is not followed");
        }
        return new PushOutcome.Rejected(status, "the push service answered HTTP " + status + ": "
                + PushHttp.excerpt(answer.body()));
    }

    /** The JSON the service worker receives. */
    static byte[] payload(Notification n) {
        Map<String, String> json = new LinkedHashMap<>();
        json.put("title", n.title());
        json.put("body", n.body());
        n.url().ifPresent(u -> json.put("url", u));
        n.tag().ifPresent(t -> json.put("tag", t));
        try {
            return JSON.writeValueAsString(json).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("notification not serializable", e);
        }
    }

    /**
     * The RFC 8030 {@code Topic} for a tag: at most 32 characters of the base64url alphabet, so the
     * tag's SHA-256 in base64url, cut to 32 (the same tag always gives the same topic).
     */
    static String topic(String tag) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(tag.getBytes(StandardCharsets.UTF_8));
            return EcKeys.base64Url(hash).substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }
}
