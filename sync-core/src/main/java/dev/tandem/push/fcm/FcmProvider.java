package dev.tandem.push.fcm;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.push.Device;
import dev.tandem.push.Notification;
import dev.tandem.push.PushOutcome;
import dev.tandem.push.PushProvider;
import dev.tandem.push.PushSettings;
import dev.tandem.push.support.PushHttp;

/**
 * Sends through FCM's HTTP v1 API: {@code POST {url}/v1/projects/{project}/messages:send} with
 * {@code {"message": {"token", "notification": {title, body}, "data", and the device platform's
 * block}}} — {@code android} (ttl, priority, collapse key), {@code webpush} (TTL, Urgency and
 * Topic headers, the link to open) or {@code apns} (expiration, priority, collapse id) — with a
 * {@code Bearer} access token from the service account.
 *
 * <p>Answers: 200 delivered (with the message name); {@code UNREGISTERED}, {@code
 * SENDER_ID_MISMATCH} or 404 gone; 429, 5xx ({@code QUOTA_EXCEEDED}, {@code UNAVAILABLE},
 * {@code INTERNAL}) retry later with {@code Retry-After}; 401 retry later with a new access token;
 * anything else ({@code INVALID_ARGUMENT}, {@code THIRD_PARTY_AUTH_ERROR}…) rejected.
 */
public final class FcmProvider implements PushProvider<Device.Fcm> {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI sendUrl;
    private final AccessTokens tokens;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;

    /**
     * A provider for the account's project (or the configured one).
     *
     * @param settings the FCM settings (API URL, project)
     * @param account  the service account
     * @param http     a client that does not follow redirects ({@link PushHttp#client})
     * @param timeout  time for one request
     * @param clock    the clock for tokens, expirations and {@code Retry-After} dates
     */
    public FcmProvider(PushSettings.Fcm settings, ServiceAccount account, HttpClient http, Duration timeout, Clock clock) {
        ServiceAccount acc = settings.projectId().map(account::withProject).orElse(account);
        String base = settings.url().toString().replaceAll("/+$", "");
        this.sendUrl = URI.create(base + "/v1/projects/" + acc.projectId() + "/messages:send");
        this.http = PushHttp.requireNoRedirects(http);
        this.tokens = new AccessTokens(acc, http, timeout, clock);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A provider with the service account read from the configured file. */
    public static FcmProvider create(PushSettings.Fcm settings, HttpClient http, Duration timeout, Clock clock)
            throws IOException {
        return new FcmProvider(settings, ServiceAccount.load(settings.serviceAccountFile()), http, timeout, clock);
    }

    /** The URL messages are posted to. */
    public URI sendUrl() {
        return sendUrl;
    }

    @Override
    public PushOutcome send(Device.Fcm device, Notification notification) {
        String token;
        try {
            token = tokens.get();
        } catch (AccessTokens.Failure e) {
            return e.outcome();
        }
        HttpRequest request = HttpRequest.newBuilder(sendUrl)
                .timeout(timeout)
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "application/json; charset=UTF-8")
                .POST(HttpRequest.BodyPublishers.ofString(message(device, notification).toString()))
                .build();
        return PushHttp.call(http, request, timeout, answer -> outcome(answer, token));
    }

    private PushOutcome outcome(PushHttp.Answer answer, String token) {
        int status = answer.status();
        JsonNode json = AccessTokens.parse(answer.body());
        if (status == 200) {
            return new PushOutcome.Delivered(status, Optional.of(json.path("name").asText("")).filter(s -> !s.isEmpty()));
        }
        JsonNode error = json.path("error");
        String code = fcmErrorCode(error).orElse(error.path("status").asText(""));
        String why = "FCM answered HTTP " + status + (code.isEmpty() ? "" : " " + code);
        if (code.equals("UNREGISTERED") || code.equals("SENDER_ID_MISMATCH") || status == 404) {
            return new PushOutcome.Gone(status, why);
        }
        if (status == 401) {
            tokens.invalidate(token);
            return new PushOutcome.RetryLater(status, Optional.empty(), why + " (the access token is renewed)");
        }
        if (status == 429 || status / 100 == 5) {
            return PushHttp.retryLater(answer, clock, why);
        }
        String message = error.path("message").asText("");
        return new PushOutcome.Rejected(status, message.isEmpty() ? why : why + ": " + PushHttp.excerpt(message));
    }

    /** The v1 message for this device. */
    ObjectNode message(Device.Fcm device, Notification n) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode message = root.putObject("message");
        message.put("token", device.token());
        message.putObject("notification").put("title", n.title()).put("body", n.body());
        if (n.url().isPresent() || n.tag().isPresent()) {
            ObjectNode data = message.putObject("data"); // data values are strings
            n.url().ifPresent(u -> data.put("url", u));
            n.tag().ifPresent(t -> data.put("tag", t));
        }
        long ttl = n.ttl().toSeconds();
        boolean urgent = n.urgency().compareTo(Notification.Urgency.NORMAL) >= 0;
        switch (device.platform()) {
            case ANDROID -> {
                ObjectNode android = message.putObject("android");
                android.put("ttl", ttl + "s");
                android.put("priority", n.urgency() == Notification.Urgency.HIGH ? "HIGH" : "NORMAL");
                n.tag().ifPresent(t -> {
                    android.put("collapse_key", t);
                    android.putObject("notification").put("tag", t);
                });
            }
            case WEB -> {
                ObjectNode webpush = message.putObject("webpush");
                ObjectNode headers = webpush.putObject("headers");
                headers.put("TTL", Long.toString(ttl));
                headers.put("Urgency", n.urgency().wire());
                n.tag().ifPresent(t -> webpush.putObject("notification").put("tag", t));
                n.url().filter(u -> u.startsWith("https://")).ifPresent(u -> webpush.putObject("fcm_options").put("link", u));
            }
            case IOS, MACOS -> {
                ObjectNode headers = message.putObject("apns").putObject("headers");
                headers.put("apns-expiration", ttl == 0 ? "0" : Long.toString(clock.instant().plusSeconds(ttl).getEpochSecond()));
                headers.put("apns-priority", urgent ? "10" : "5");
                n.tag().ifPresent(t -> headers.put("apns-collapse-id", t));
            }
        }
        return root;
    }

    /** The {@code errorCode} of the {@code google.firebase.fcm.v1.FcmError} detail, if any. */
    private static Optional<String> fcmErrorCode(JsonNode error) {
        for (JsonNode detail : error.path("details")) {
            if (detail.path("@type").asText("").endsWith("google.firebase.fcm.v1.FcmError")
                    && detail.path("errorCode").isTextual()) {
                return Optional.of(detail.path("errorCode").asText());
            }
        }
        return Optional.empty();
    }
}
