package dev.tandem.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.session.Engine;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The service API under {@code /api/v1} for backends without Kafka, authenticated by service
 * tokens (a JWT with the configured service role, acting within its own tenant). It only turns
 * HTTP into calls on the {@link Operations} layer and {@link Result}s into responses: 200 with
 * the body, or the error code's HTTP status with {@code {"code": "...", "message": "..."}}. The
 * bodies are those of the same operations over the WebSocket.
 *
 * <ul>
 *   <li>{@code POST /api/v1/publish} body {@code {"channel": "...", "type": "...", "data": ...}}
 *       or {@code "channels": [...]}, optional {@code eventId}; answers {@code {"publications":[{channel,
 *       epoch, offset, eventId}]}}.</li>
 *   <li>{@code POST /api/v1/users/{id}/send} body {@code {"type": "...", "data": ...}}: publishes
 *       to {@code user:{id}}; an optional {@code push} is queued for the user's devices ({@link PushApi}).</li>
 *   <li>{@code GET /api/v1/presence/{channel}}: who is on a channel.</li>
 *   <li>{@code GET /api/v1/sync-state?user=U}: inbox depth and open conflicts of a user.</li>
 *   <li>{@code GET /api/v1/documents/{type}/{id}} ({@code doc.get});
 *       {@code GET /api/v1/documents/{type}?where.FIELD=VALUE&limit=&after=} ({@code doc.query}: VALUE
 *       is a JSON number, {@code true}, {@code false} or a quoted string, else the text as a string);
 *       {@code POST /api/v1/sync} ({@code {"ops":[…]}}, one result per op);
 *       {@code GET /api/v1/conflicts?type=&status=&limit=}, {@code GET /api/v1/conflicts/{id}},
 *       {@code POST /api/v1/conflicts/{id}/resolve} ({@code {"resolution": "accept_local|accept_server|merge",
 *       "data": …}}).</li>
 *   <li>{@code POST /api/v1/users/{id}/disconnect}: closes every connection of the user on every
 *       node (4005); answers {@code {"user"}}.</li>
 *   <li>{@code POST /api/v1/revocations} body {@code {"jti": "...", "expiresAt": "ISO instant"}}
 *       (one token) or {@code {"user": "...", "issuedBefore": "...", "until": "..."}} (the user's
 *       tokens issued before a time, default now): their connections close with 4004 on every
 *       node and they cannot connect until the revocation lapses.</li>
 * </ul>
 */
final class RestApi implements HttpService {

    private final java.util.function.Supplier<Operations> layer;
    private final java.util.function.Supplier<Engine> engine;
    private final FrameCodec codec;
    private final PushApi push;

    /**
     * The API on the node's operations and connection runtime (supplied once the node is built:
     * the server, and so its routing, is built first).
     */
    RestApi(java.util.function.Supplier<Operations> layer, java.util.function.Supplier<Engine> engine, FrameCodec codec,
            PushApi push) {
        this.layer = layer;
        this.push = push;
        this.engine = engine;
        this.codec = codec;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/publish", this::publish)
                .post("/users/{id}/send", (req, res) -> withBody(req, res, (service, body) -> {
                    String user = req.path().pathParameters().get("id");
                    Optional<PushApi.Push> pushed = push.parse(body); // checked before anything is sent
                    Result sent = paced(layer.get().channels().sendToUser(service, user, type(body), data(body),
                            eventId(body)));
                    return pushed.map(p -> push.afterSend(service, user, p, sent)).orElse(sent);
                }))
                .get("/presence/{channel}", (req, res) -> respond(req, res, service ->
                        layer.get().presence().serviceMembers(service, req.path().pathParameters().get("channel"))))
                .get("/sync-state", (req, res) -> respond(req, res, service -> layer.get().documents().syncState(service,
                        req.query().first("user").asOptional().orElseThrow(() -> bad("query parameter 'user' is required")))))
                .get("/documents/{type}/{id}/history", (req, res) -> respond(req, res, service ->
                        layer.get().documents().history(service, req.path().pathParameters().get("type"),
                                req.path().pathParameters().get("id"),
                                integer(req.query().first("limit").asOptional().orElse("20"), "limit"),
                                req.query().first("cursor").asOptional())))
                .get("/documents/{type}/{id}", (req, res) -> respond(req, res, service ->
                        layer.get().documents().get(service, req.path().pathParameters().get("type"),
                                req.path().pathParameters().get("id"))))
                .get("/documents/{type}", (req, res) -> respond(req, res, service ->
                        layer.get().documents().query(service, query(req))))
                .post("/sync", (req, res) -> writing(req, res, (service, body, answer) ->
                        layer.get().documents().sync(service, codec.decodeSyncOps(body.get("ops")), answer)))
                .get("/conflicts", (req, res) -> respond(req, res, service -> layer.get().documents().listConflicts(service,
                        req.query().first("type").asOptional(), req.query().first("status").asOptional(),
                        integer(req.query().first("limit").asOptional().orElse("100"), "limit"))))
                .get("/conflicts/{id}", (req, res) -> respond(req, res, service ->
                        layer.get().documents().getConflict(service, req.path().pathParameters().get("id"))))
                .post("/conflicts/{id}/resolve", (req, res) -> writing(req, res, (service, body, answer) -> {
                    JsonNode resolution = body.get("resolution");
                    if (resolution == null || !resolution.isTextual()) {
                        throw bad("field 'resolution' (accept_local, accept_server or merge) is required");
                    }
                    layer.get().documents().resolveConflict(service, req.path().pathParameters().get("id"),
                            resolution.textValue(), Optional.ofNullable(body.get("data")).filter(d -> !d.isNull()), answer);
                }))
                .post("/users/{id}/disconnect", (req, res) -> respond(req, res, service ->
                        layer.get().fleet().disconnectUser(service, req.path().pathParameters().get("id"))))
                .post("/revocations", (req, res) -> withBody(req, res, (service, body) -> {
                    JsonNode jti = body.get("jti");
                    JsonNode user = body.get("user");
                    if ((jti == null) == (user == null)) {
                        throw bad("give either 'jti' (one token) or 'user' (the user's tokens issued before a time)");
                    }
                    if (jti != null) {
                        return layer.get().fleet().revokeToken(service, string(jti, "jti"), instant(body, "expiresAt"));
                    }
                    return layer.get().fleet().revokeUser(service, string(user, "user"), instant(body, "issuedBefore"),
                            instant(body, "until"));
                }))
                // last: whatever no route above took
                .any((req, res) -> send(res, new Result.Failed(ErrorCode.NOT_FOUND, "no such endpoint: "
                        + req.prologue().method().text() + " under /api/v1 (see the README's service API)")));
    }

    /**
     * {@code POST /publish}: the publication, answered once the node's writers have reached the
     * connections that were waiting when it was fanned out (backpressure, at most a second).
     */
    private void publish(ServerRequest req, ServerResponse res) {
        Result result;
        try {
            Principal service = authenticate(req);
            ObjectNode body = body(req);
            result = paced(layer.get().channels().servicePublish(service, channels(body), type(body), data(body),
                    eventId(body)));
        } catch (RuntimeException e) {
            result = failure(req, e);
        }
        send(res, result);
    }

    /** A successful publication waits for its fan-out to be written ({@link Engine#awaitFanOut}). */
    private Result paced(Result published) {
        if (published instanceof Result.Ok) {
            engine.get().awaitFanOut(); // a refused publish fanned nothing out: nothing to wait for
        }
        return published;
    }

    /** The channels of a publication: {@code channel}, {@code channels} or both. */
    private static List<String> channels(JsonNode body) {
        List<String> channels = new ArrayList<>();
        JsonNode one = body.get("channel");
        JsonNode many = body.get("channels");
        if (one != null && !one.isNull()) {
            channels.add(string(one, "channel"));
        }
        if (many != null && !many.isNull()) {
            if (!many.isArray()) {
                throw bad("field 'channels' must be an array of strings");
            }
            for (JsonNode c : many) {
                channels.add(string(c, "channels"));
            }
        }
        if (channels.isEmpty()) {
            throw bad("give 'channel' or 'channels'");
        }
        return channels;
    }

    /**
     * What the server answers before a request reaches a route (a body over
     * {@code server.max-payload-size}, a malformed request): the API's JSON error body, with
     * {@code too_large} for 413 and {@code bad_request} otherwise, never the request's text.
     */
    static DirectHandlers directHandlers(FrameCodec codec) {
        DirectHandler json = (request, type, status, headers, message) -> {
            ErrorCode code = status.code() == ErrorCode.TOO_LARGE.httpStatus() ? ErrorCode.TOO_LARGE
                    : ErrorCode.BAD_REQUEST;
            String text = code == ErrorCode.TOO_LARGE ? "the body is larger than server.max-payload-size allows"
                    : "malformed HTTP request (" + status.code() + ")";
            headers.set(HeaderNames.CONTENT_TYPE, MediaTypes.APPLICATION_JSON.text());
            return DirectHandler.TransportResponse.builder()
                    .status(status)
                    .headers(headers)
                    .keepAlive(false)
                    .entity(codec.write(codec.object().put("code", code.wire()).put("message", text)))
                    .build();
        };
        return DirectHandlers.builder()
                .addHandler(DirectHandler.EventType.BAD_REQUEST, json)
                .addHandler(DirectHandler.EventType.PAYLOAD_TOO_LARGE, json)
                .build();
    }

    /** {@code doc.query} from {@code ?where.FIELD=VALUE&limit=&after=}. */
    private ClientFrame.DocQuery query(ServerRequest req) {
        List<Map.Entry<String, String>> where = new ArrayList<>();
        for (String name : req.query().names()) {
            if (name.startsWith("where.")) {
                for (String v : req.query().all(name)) {
                    where.add(Map.entry(name.substring(6), v));
                }
            }
        }
        if (where.size() != 1 || where.getFirst().getKey().isEmpty()) {
            throw bad("give exactly one where.FIELD=VALUE");
        }
        int limit = integer(req.query().first("limit").asOptional()
                .orElse(String.valueOf(ClientFrame.DocQuery.DEFAULT_LIMIT)), "limit");
        if (limit < 1 || limit > ClientFrame.DocQuery.MAX_LIMIT) {
            throw bad("limit must be 1-" + ClientFrame.DocQuery.MAX_LIMIT);
        }
        return new ClientFrame.DocQuery(0, req.path().pathParameters().get("type"), where.getFirst().getKey(),
                value(where.getFirst().getValue()), limit, req.query().first("after").asOptional());
    }

    /** A query value: a JSON number, boolean or quoted string as such, anything else as text. */
    private JsonNode value(String text) {
        if (!text.isEmpty() && (text.equals("true") || text.equals("false") || text.startsWith("\"")
                || text.charAt(0) == '-' || Character.isDigit(text.charAt(0)))) {
            try {
                JsonNode v = codec.parse(text);
                if (v.isNumber() || v.isBoolean() || v.isTextual()) {
                    return v;
                }
            } catch (ProtocolException e) {
                // not JSON: the text itself
            }
        }
        return codec.mapper().getNodeFactory().textNode(text);
    }

    // ------------------------------------------------------------------ translation

    /** Authenticates a service token, runs the operation, answers its result. */
    private void respond(ServerRequest req, ServerResponse res, java.util.function.Function<Principal, Result> op) {
        Result result;
        try {
            result = op.apply(authenticate(req));
        } catch (RuntimeException e) {
            result = failure(req, e);
        }
        send(res, result);
    }

    /** Like {@link #respond}, with the request's JSON object body. */
    private void withBody(ServerRequest req, ServerResponse res, BiFunction<Principal, ObjectNode, Result> op) {
        Result result;
        try {
            Principal service = authenticate(req);
            result = op.apply(service, body(req));
        } catch (RuntimeException e) {
            result = failure(req, e);
        }
        send(res, result);
    }

    /** A document write with the request's JSON object body: it answers before it publishes. */
    @FunctionalInterface
    private interface Write {
        void run(Principal service, ObjectNode body, java.util.function.Consumer<Result> answer);
    }

    /** Like {@link #withBody}, for a write that gives its answer to the response before it publishes. */
    private void writing(ServerRequest req, ServerResponse res, Write op) {
        boolean[] answered = new boolean[1];
        try {
            Principal service = authenticate(req);
            op.run(service, body(req), result -> {
                answered[0] = true;
                send(res, result);
            });
        } catch (RuntimeException e) {
            if (answered[0]) {
                throw e;
            }
            send(res, failure(req, e));
        }
    }

    /** The request's JSON object body, read as bytes: it must be strictly valid UTF-8 before it is parsed. */
    private ObjectNode body(ServerRequest req) {
        byte[] bytes = RequestBodies.read(req);
        if (new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1).isBlank()) {
            throw bad("a JSON object body is required");
        }
        if (!(codec.parse(bytes) instanceof ObjectNode body)) {
            throw bad("the body must be a JSON object");
        }
        return body;
    }

    private static Result failure(ServerRequest req, RuntimeException e) {
        return RestResults.failure(req, e);
    }

    private void send(ServerResponse res, Result result) {
        RestResults.send(res, codec, result);
    }

    private Principal authenticate(ServerRequest req) {
        String token = RequestParts.bearer(req.headers())
                .orElseThrow(() -> new ProtocolException(ErrorCode.UNAUTHORIZED, "Authorization: Bearer token required"));
        return layer.get().authentication().service(token);
    }

    private static String string(JsonNode v, String field) {
        if (!v.isTextual()) {
            throw bad("field '" + field + "' must be " + (field.equals("channels") ? "an array of strings" : "a string"));
        }
        return v.textValue();
    }

    private static String type(JsonNode body) {
        JsonNode t = body.get("type");
        if (t == null || !t.isTextual()) {
            throw bad("field 'type' (string) is required");
        }
        return t.textValue();
    }

    private static JsonNode data(JsonNode body) {
        JsonNode d = body.get("data");
        if (d == null || d.isNull()) {
            throw bad("field 'data' is required");
        }
        return d;
    }

    private static Optional<String> eventId(JsonNode body) {
        JsonNode id = body.get("eventId");
        if (id == null || id.isNull()) {
            return Optional.empty();
        }
        if (!id.isTextual() || id.textValue().isEmpty() || id.textValue().length() > 128) {
            throw bad("field 'eventId' must be a string of 1-128 characters");
        }
        return Optional.of(id.textValue());
    }

    private static Optional<java.time.Instant> instant(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        try {
            return Optional.of(java.time.Instant.parse(string(v, field)));
        } catch (java.time.format.DateTimeParseException e) {
            throw bad("field '" + field + "' must be an ISO-8601 instant such as 2026-11-30T18:00:00Z");
        }
    }

    private static int integer(String text, String name) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw bad("'" + name + "' must be an integer");
        }
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
