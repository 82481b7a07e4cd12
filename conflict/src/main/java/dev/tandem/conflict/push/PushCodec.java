package dev.tandem.conflict.push;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.push.Device;
import dev.tandem.push.Notification;

/** How devices and notifications are kept in their JSON columns, and a device's address key. */
final class PushCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PushCodec() {
    }

    static String device(Device device) {
        ObjectNode o = JSON.createObjectNode().put("kind", device.kind().wire());
        switch (device) {
            case Device.WebPush w -> o.put("endpoint", w.endpoint().toString()).put("p256dh", w.p256dh())
                    .put("auth", w.auth());
            case Device.Fcm f -> o.put("token", f.token()).put("platform", f.platform().wire());
            case Device.Apns a -> o.put("token", a.token()).put("platform", a.platform().wire());
        }
        return o.toString();
    }

    static Device device(String json) {
        JsonNode o = read(json);
        return switch (Device.Kind.fromWire(o.path("kind").asText())) {
            case WEBPUSH -> Device.WebPush.of(o.path("endpoint").asText(), o.path("p256dh").asText(),
                    o.path("auth").asText());
            case FCM -> new Device.Fcm(o.path("token").asText(), Device.Platform.fromWire(o.path("platform").asText()));
            case APNS -> new Device.Apns(o.path("token").asText(), Device.Platform.fromWire(o.path("platform").asText()));
        };
    }

    static String notification(Notification n) {
        ObjectNode o = JSON.createObjectNode().put("title", n.title()).put("body", n.body())
                .put("ttl", n.ttl().toSeconds()).put("urgency", n.urgency().wire());
        n.url().ifPresent(u -> o.put("url", u));
        n.tag().ifPresent(t -> o.put("tag", t));
        return o.toString();
    }

    static Notification notification(String json) {
        JsonNode o = read(json);
        return new Notification(o.path("title").asText(), o.path("body").asText(), text(o, "url"), text(o, "tag"),
                Duration.ofSeconds(o.path("ttl").asLong()), Notification.Urgency.fromWire(o.path("urgency").asText()));
    }

    /** The device's address (endpoint or token) as a key: one registration per address and tenant. */
    static String address(Device device) {
        String address = switch (device) {
            case Device.WebPush w -> w.endpoint().toString();
            case Device.Fcm f -> f.token();
            case Device.Apns a -> a.token();
        };
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest((device.kind().wire() + ":" + address).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    private static Optional<String> text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? Optional.empty() : Optional.of(v.asText());
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored push row is not JSON", e);
        }
    }
}
