package dev.tandem.gateway;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.push.Device;
import dev.tandem.push.Notification;
import dev.tandem.push.PushService;
import dev.tandem.push.PushStore;
import dev.tandem.telemetry.LogText;

import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The push routes under {@code /api/v1} (registered before the service API, whose last route
 * answers whatever no route took), translating HTTP into {@link PushService} calls:
 *
 * <ul>
 *   <li>{@code POST /push/devices} with a user's token, body {@code {"kind":"webpush","endpoint",
 *       "keys":{"p256dh","auth"}}} or {@code {"kind":"fcm"|"apns","token","platform"}}: registers a
 *       device of the caller; answers the device ({@code id}, …).</li>
 *   <li>{@code GET /push/devices}: the caller's devices; a service token may name {@code ?user=}.</li>
 *   <li>{@code DELETE /push/devices/{id}}: removes one of the caller's devices (a service: any of
 *       its tenant's).</li>
 *   <li>{@code GET /push/vapid-key}: {@code {"publicKey"}} for any authenticated caller.</li>
 *   <li>{@code GET /push/history?user=&limit=}: a service reads the user's finished sends.</li>
 * </ul>
 * It also reads the {@code push} part of {@code POST /users/{id}/send} ({@link #parse}) and queues
 * it once the message is sent ({@link #afterSend}).
 */
final class PushApi implements HttpService {
    private static final System.Logger LOG = System.getLogger(PushApi.class.getName());

    private final Supplier<Operations> layer;
    private final Supplier<Optional<Pushing>> push;
    private final FrameCodec codec;
    private final String serviceRole;

    /** What a send asks to push. */
    record Push(Notification notification, PushService.When when) {
    }

    PushApi(Supplier<Operations> layer, Supplier<Optional<Pushing>> push, FrameCodec codec, String serviceRole) {
        this.layer = layer;
        this.push = push;
        this.codec = codec;
        this.serviceRole = serviceRole;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/push/devices", (req, res) -> respond(req, res, (who, svc) ->
                        device(svc.register(who, device(body(req))))))
                .get("/push/devices", (req, res) -> respond(req, res, (who, svc) -> {
                    String user = target(who, req.query().first("user").asOptional());
                    ArrayNode list = codec.mapper().createArrayNode();
                    svc.devices(who, user).forEach(d -> list.add(device(d)));
                    ObjectNode body = codec.object().put("user", user);
                    body.set("devices", list);
                    return body;
                }))
                .delete("/push/devices/{id}", (req, res) -> respond(req, res, (who, svc) -> {
                    String id = req.path().pathParameters().get("id");
                    svc.remove(who, isService(who), id);
                    return codec.object().put("id", id);
                }))
                .get("/push/vapid-key", (req, res) -> respond(req, res, (who, svc) ->
                        codec.object().put("publicKey", svc.vapidPublicKey().orElseThrow(() ->
                                new ProtocolException(ErrorCode.NOT_FOUND, "web push is not on at this node")))))
                .get("/push/history", (req, res) -> respond(req, res, (who, svc) -> {
                    if (!isService(who)) {
                        throw new ProtocolException(ErrorCode.FORBIDDEN, "the push history needs the '" + serviceRole + "' role");
                    }
                    String user = req.query().first("user").asOptional()
                            .orElseThrow(() -> bad("query parameter 'user' is required"));
                    int limit = integer(req.query().first("limit").asOptional().orElse("100"));
                    ArrayNode entries = codec.mapper().createArrayNode();
                    svc.history(who, user, limit).forEach(e -> entries.add(entry(e)));
                    ObjectNode body = codec.object().put("user", user);
                    body.set("entries", entries);
                    return body;
                }));
    }

    // ------------------------------------------------------------------ the send's push

    /**
     * The {@code push} of a send body, checked before anything is sent: {@code {title, body, url?,
     * tag?, ttl? (seconds), urgency?, when? ("offline" | "always" | "never")}}.
     *
     * @throws ProtocolException {@code BAD_REQUEST} naming the field that is wrong
     */
    Optional<Push> parse(JsonNode sendBody) {
        JsonNode p = sendBody.get("push");
        if (p == null || p.isNull()) {
            return Optional.empty();
        }
        if (!p.isObject()) {
            throw bad("field 'push' must be an object {title, body, url?, tag?, ttl?, urgency?, when?}");
        }
        for (java.util.Iterator<String> names = p.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!java.util.Set.of("title", "body", "url", "tag", "ttl", "urgency", "when").contains(name)) {
                throw bad("push." + LogText.safe(name) + " is not a push field (title, body, url, tag, ttl, urgency, when)");
            }
        }
        Duration ttl = p.has("ttl") ? Duration.ofSeconds(wholeNumber(p.get("ttl"), "push.ttl"))
                : push.get().map(x -> x.settings.defaultTtl()).orElse(dev.tandem.push.PushSettings.DEFAULT_TTL);
        Notification n = new Notification(text(p, "title").orElse(null), text(p, "body").orElse(""), text(p, "url"),
                text(p, "tag"), ttl, text(p, "urgency").map(Notification.Urgency::fromWire)
                .orElse(Notification.Urgency.NORMAL));
        return Optional.of(new Push(n, text(p, "when").map(PushService.When::fromWire).orElse(PushService.When.OFFLINE)));
    }

    /**
     * Queues the push of a send that went through, and says so in its answer as
     * {@code push: {queued}} (0 when the user is connected, has no device, or push is off); a
     * store that is away does not undo the send: the answer then carries {@code push.error}.
     */
    Result afterSend(Principal service, String user, Push p, Result sent) {
        if (!(sent instanceof Result.Ok ok)) {
            return sent;
        }
        ObjectNode answer = ok.body().putObject("push");
        if (push.get().isEmpty()) {
            answer.put("queued", 0).put("error", "push is not configured on this node");
            return sent;
        }
        try {
            answer.put("queued", push.get().get().service.notify(service, user, p.notification(), p.when()));
        } catch (ProtocolException e) {
            LOG.log(System.Logger.Level.WARNING, "the push of a send to user " + LogText.safe(user) + " was not queued: "
                    + e.getMessage());
            answer.put("queued", 0).put("error", e.code().wire());
        }
        return sent;
    }

    // ------------------------------------------------------------------ translation

    private interface Call {
        JsonNode apply(Principal who, PushService service);
    }

    private void respond(ServerRequest req, ServerResponse res, Call call) {
        Result result;
        try {
            String token = RequestParts.bearer(req.headers()).orElseThrow(() ->
                    new ProtocolException(ErrorCode.UNAUTHORIZED, "Authorization: Bearer token required"));
            Principal who = layer.get().authentication().request(token);
            PushService svc = push.get().map(p -> p.service).orElseThrow(() ->
                    new ProtocolException(ErrorCode.NOT_FOUND, "push is not configured on this node"));
            result = new Result.Ok((ObjectNode) call.apply(who, svc));
        } catch (RuntimeException e) {
            result = RestResults.failure(req, e);
        }
        RestResults.send(res, codec, result);
    }

    private boolean isService(Principal who) {
        return who.hasRole(serviceRole);
    }

    /** Whose devices: the caller's own, or for a service the user it names. */
    private String target(Principal who, Optional<String> user) {
        if (user.isEmpty() || user.get().equals(who.user())) {
            return who.user();
        }
        if (!isService(who)) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "only a service lists another user's devices");
        }
        return user.get();
    }

    private JsonNode body(ServerRequest req) {
        byte[] bytes = RequestBodies.read(req);
        if (new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).isBlank()) {
            throw bad("a JSON object body is required");
        }
        if (!(codec.parse(bytes) instanceof ObjectNode body)) {
            throw bad("the body must be a JSON object");
        }
        return body;
    }

    /** A device from a registration body. */
    private static Device device(JsonNode body) {
        String kind = text(body, "kind").orElseThrow(() -> bad("field 'kind' (webpush, fcm or apns) is required"));
        return switch (Device.Kind.fromWire(kind)) {
            case WEBPUSH -> {
                JsonNode keys = body.get("keys");
                if (keys == null || !keys.isObject()) {
                    throw bad("field 'keys' {p256dh, auth} is required for webpush");
                }
                yield Device.WebPush.of(text(body, "endpoint").orElseThrow(() -> bad("field 'endpoint' is required")),
                        text(keys, "p256dh").orElseThrow(() -> bad("field 'keys.p256dh' is required")),
                        text(keys, "auth").orElseThrow(() -> bad("field 'keys.auth' is required")));
            }
            case FCM -> new Device.Fcm(text(body, "token").orElseThrow(() -> bad("field 'token' is required")),
                    Device.Platform.fromWire(text(body, "platform").orElseThrow(() -> bad("field 'platform' is required"))));
            case APNS -> new Device.Apns(text(body, "token").orElseThrow(() -> bad("field 'token' is required")),
                    Device.Platform.fromWire(text(body, "platform").orElseThrow(() -> bad("field 'platform' is required"))));
        };
    }

    /** A device as the API shows it: never its endpoint or token (they are capabilities), only where it is. */
    private ObjectNode device(PushStore.Registered d) {
        ObjectNode o = codec.object().put("id", d.id()).put("user", d.user()).put("kind", d.device().kind().wire())
                .put("createdAt", d.createdAt().toString());
        switch (d.device()) {
            case Device.WebPush w -> o.put("host", w.endpoint().getHost());
            case Device.Fcm f -> o.put("platform", f.platform().wire());
            case Device.Apns a -> o.put("platform", a.platform().wire());
        }
        return o;
    }

    private ObjectNode entry(PushStore.HistoryEntry e) {
        ObjectNode o = codec.object().put("deviceId", e.deviceId()).put("outcome", e.outcome())
                .put("status", e.status()).put("attempts", e.attempts()).put("title", e.title())
                .put("at", e.at().toString());
        e.kind().ifPresent(k -> o.put("kind", k.wire()));
        if (!e.reason().isEmpty()) {
            o.put("reason", e.reason());
        }
        return o;
    }

    private static Optional<String> text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw bad("field '" + field + "' must be a string");
        }
        return Optional.of(v.textValue());
    }

    private static long wholeNumber(JsonNode v, String field) {
        if (!v.canConvertToExactIntegral() || !v.canConvertToLong()) {
            throw bad("field '" + field + "' must be a whole number of seconds");
        }
        return v.longValue();
    }

    private static int integer(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw bad("'limit' must be an integer");
        }
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
