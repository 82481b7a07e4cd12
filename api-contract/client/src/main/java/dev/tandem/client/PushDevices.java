package dev.tandem.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ErrorCode;

/**
 * The user's push devices ({@code /api/v1/push/devices} of the gateway the client connects to):
 * an app registers its FCM or APNs token so the gateway can reach the user while no connection
 * of theirs is open. Requests go over HTTP to the gateway of the client's WebSocket URI
 * ({@code wss://host/ws} → {@code https://host/api/v1/…}) with a token from the client's token
 * supplier, whether or not the client is connected.
 *
 * <p>Futures complete exceptionally with a {@link TandemClientException} carrying the
 * gateway's {@link ErrorCode} ({@code bad_request} for a malformed token or a provider that is
 * off, {@code limit_exceeded} past the per-user limit …), {@code unavailable} when the gateway
 * cannot be reached, or {@link TandemClientException#tokenUnavailable()} when the supplier failed.
 */
public final class PushDevices {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The platform an app token belongs to. */
    public enum Platform {
        /** An Android app (FCM). */
        ANDROID,
        /** An iOS app (FCM or APNs). */
        IOS,
        /** A macOS app (APNs). */
        MACOS,
        /** A web app using the FCM JavaScript SDK. */
        WEB;

        String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A registered device as the gateway shows it: never its token or endpoint.
     *
     * @param id        the device id
     * @param user      whose device it is
     * @param kind      {@code webpush}, {@code fcm} or {@code apns}
     * @param host      the push service's host (webpush)
     * @param platform  the app platform (fcm, apns)
     * @param createdAt when it was registered
     */
    public record Device(String id, String user, String kind, Optional<String> host, Optional<String> platform,
                         Instant createdAt) {
    }

    private final TandemClient client;
    private final URI base;

    private PushDevices(TandemClient client) {
        this.client = client;
        this.base = apiBase(client.uri);
    }

    /** The push devices of {@code client}'s user. */
    public static PushDevices of(TandemClient client) {
        return new PushDevices(client);
    }

    /** Registers an Android app's FCM registration token; the same token again answers the same device. */
    public CompletableFuture<Device> registerFcm(String token) {
        return registerFcm(token, Platform.ANDROID);
    }

    /** Registers an FCM registration token of an app on {@code platform} (android, ios or web). */
    public CompletableFuture<Device> registerFcm(String token, Platform platform) {
        return register("fcm", token, platform);
    }

    /** Registers an APNs device token of an app on {@code platform} (ios or macos). */
    public CompletableFuture<Device> registerApns(String token, Platform platform) {
        return register("apns", token, platform);
    }

    /** The user's devices. */
    public CompletableFuture<List<Device>> list() {
        return send("GET", "/push/devices", null).thenApply(body -> {
            List<Device> devices = new ArrayList<>();
            body.path("devices").forEach(d -> devices.add(device(d)));
            return List.copyOf(devices);
        });
    }

    /** Removes one of the user's devices (what was queued for it is dropped). */
    public CompletableFuture<Void> remove(String id) {
        return send("DELETE", "/push/devices/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20"), null)
                .thenApply(body -> null);
    }

    /** {@code ws://host[:port][/prefix]/ws} → {@code http://host[:port][/prefix]/api/v1}; wss → https. */
    static URI apiBase(URI ws) {
        String scheme = switch (ws.getScheme().toLowerCase(Locale.ROOT)) {
            case "wss", "https" -> "https";
            default -> "http";
        };
        String path = Optional.ofNullable(ws.getRawPath()).orElse("").replaceFirst("/(ws|sse)/?$", "").replaceFirst("/$", "");
        try {
            return new URI(scheme + "://" + ws.getRawAuthority() + path + "/api/v1");
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("no gateway URL in " + ws.getScheme() + "://" + ws.getHost(), e);
        }
    }

    private CompletableFuture<Device> register(String kind, String token, Platform platform) {
        ObjectNode body = JSON.createObjectNode().put("kind", kind).put("token", token).put("platform", platform.wire());
        return send("POST", "/push/devices", body.toString()).thenApply(PushDevices::device);
    }

    private CompletableFuture<JsonNode> send(String method, String path, String body) {
        String token;
        try {
            token = client.token.get();
            if (token == null) {
                throw new NullPointerException("the token supplier returned null");
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(TandemClientException.tokenUnavailable(e));
        }
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(client.requestTimeout)
                .header("Authorization", "Bearer " + token)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            req.header("Content-Type", "application/json");
        }
        return client.http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofString())
                .handle((res, failure) -> {
                    if (failure != null) {
                        throw new TandemClientException(ErrorCode.UNAVAILABLE, method + " " + path + " failed: " + failure);
                    }
                    return answer(method, path, res);
                });
    }

    private static JsonNode answer(String method, String path, HttpResponse<String> res) {
        JsonNode json;
        try {
            json = JSON.readTree(res.body());
        } catch (java.io.IOException e) {
            json = JSON.createObjectNode();
        }
        if (res.statusCode() == 200 && json.isObject()) {
            return json;
        }
        ErrorCode code = ErrorCode.fromWire(json.path("code").asText(""))
                .orElse(res.statusCode() >= 500 ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL);
        String message = json.path("message").asText(method + " " + path + " answered " + res.statusCode());
        throw new TandemClientException(code, message);
    }

    private static Device device(JsonNode d) {
        return new Device(d.path("id").asText(), d.path("user").asText(), d.path("kind").asText(), text(d, "host"),
                text(d, "platform"), Instant.parse(d.path("createdAt").asText()));
    }

    private static Optional<String> text(JsonNode d, String field) {
        return d.hasNonNull(field) ? Optional.of(d.get(field).asText()) : Optional.empty();
    }
}
