package dev.tandem.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Documents;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.presence.Member;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The service API under {@code /api/v1} for backends without Kafka, authenticated by service
 * tokens (a JWT with the configured service role, acting within its own tenant).
 *
 * <ul>
 *   <li>{@code POST /api/v1/publish} body {@code {"channel": "...", "type": "...", "data": ...}}
 *       or {@code "channels": [...]}; answers {@code {"publications":[{channel, epoch, offset,
 *       eventId}]}}.</li>
 *   <li>{@code POST /api/v1/users/{id}/send} body {@code {"type": "...", "data": ...}}: publishes
 *       to {@code user:{id}}.</li>
 *   <li>{@code GET /api/v1/presence/{channel}}: who is on a channel.</li>
 *   <li>{@code GET /api/v1/sync-state?user=U}: inbox depth and open conflicts of a user.</li>
 *   <li>{@code GET /api/v1/documents/{type}/{id}}, {@code POST /api/v1/sync} ({@code {"ops":[…]}},
 *       one result per op), {@code GET /api/v1/conflicts?type=&status=&limit=},
 *       {@code GET /api/v1/conflicts/{id}}, {@code POST /api/v1/conflicts/{id}/resolve}
 *       ({@code {"resolution": "accept_local|accept_server|merge", "data": …}}).</li>
 * </ul>
 * Errors answer {@code {"code": "...", "message": "..."}} with the code's HTTP status.
 */
final class RestApi implements HttpService {
    private static final System.Logger LOG = System.getLogger(RestApi.class.getName());

    private final Gateway gateway;

    RestApi(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/publish", this::publish)
                .post("/users/{id}/send", this::sendToUser)
                .get("/presence/{channel}", (req, res) -> respond(req, res, false, (service, body) -> {
                    ChannelKey key = gateway.engine().rules().resolve(service.tenant(),
                            req.path().pathParameters().get("channel"));
                    ObjectNode answer = codec().object().put("channel", key.name().toString());
                    ArrayNode members = answer.putArray("members");
                    for (Member m : gateway.engine().presence().members(key)) {
                        ObjectNode o = members.addObject().put("user", m.user()).put("connections", m.connections())
                                .put("lastSeen", m.lastSeen().toString());
                        m.state().ifPresent(s -> o.set("state", s));
                    }
                    return answer;
                }))
                .get("/sync-state", (req, res) -> respond(req, res, false, (service, body) -> {
                    String user = req.query().first("user").asOptional()
                            .orElseThrow(() -> bad("query parameter 'user' is required"));
                    if (!dev.tandem.channel.ChannelName.isValidId(user)) {
                        throw bad("'user' is not a valid id");
                    }
                    ObjectNode answer = codec().object().put("user", user);
                    answer.putObject("inbox").put("depth", gateway.engine().inbox().depth(service.tenant(), user))
                            .put("ttl", gateway.engine().inbox().ttl().toString());
                    answer.put("openConflicts", documents().listConflicts(service,
                            new ConflictFilter(Optional.empty(), Optional.of(ConflictRecord.Status.OPEN), 1000)).stream()
                            .filter(c -> c.author().equals(user)).count());
                    return answer;
                }))
                .get("/documents/{type}/{id}", (req, res) -> respond(req, res, false, (service, body) -> {
                    DocRef ref = new DocRef(req.path().pathParameters().get("type"), req.path().pathParameters().get("id"));
                    Document d = documents().get(service, ref).orElseThrow(() ->
                            new ProtocolException(ErrorCode.NOT_FOUND, "no document " + ref.type() + "/" + ref.id()));
                    return codec().object().set("document", d.toJson());
                }))
                .post("/sync", (req, res) -> respond(req, res, true, (service, body) -> {
                    ObjectNode frame = codec().object().put("op", "sync");
                    frame.set("ops", body.get("ops"));
                    ClientFrame decoded = codec().decodeClient(codec().write(frame));
                    ObjectNode answer = codec().object();
                    ArrayNode results = answer.putArray("results");
                    for (OpResult r : documents().syncFrames(service, ((ClientFrame.Sync) decoded).ops())) {
                        results.add(r.toJson());
                    }
                    return answer;
                }))
                .get("/conflicts", (req, res) -> respond(req, res, false, (service, body) -> {
                    Optional<ConflictRecord.Status> status = req.query().first("status").asOptional().map(s -> {
                        try {
                            return ConflictRecord.Status.valueOf(s.toUpperCase(java.util.Locale.ROOT));
                        } catch (IllegalArgumentException e) {
                            throw bad("status must be open, resolved or stale");
                        }
                    });
                    int limit = req.query().first("limit").asOptional().map(Integer::parseInt).orElse(100);
                    ObjectNode answer = codec().object();
                    ArrayNode list = answer.putArray("conflicts");
                    for (ConflictRecord c : documents().listConflicts(service, new ConflictFilter(
                            req.query().first("type").asOptional(), status, Math.min(1000, Math.max(1, limit))))) {
                        list.add(c.toJson());
                    }
                    return answer;
                }))
                .get("/conflicts/{id}", (req, res) -> respond(req, res, false, (service, body) -> documents()
                        .getConflict(service, req.path().pathParameters().get("id")).map(c -> (JsonNode) c.toJson())
                        .orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND, "no such conflict"))))
                .post("/conflicts/{id}/resolve", (req, res) -> respond(req, res, true, (service, body) -> {
                    JsonNode resolution = body.get("resolution");
                    if (resolution == null || !resolution.isTextual()) {
                        throw bad("field 'resolution' (accept_local, accept_server or merge) is required");
                    }
                    Documents.Resolved r = documents().resolve(service, req.path().pathParameters().get("id"),
                            Resolution.parse(resolution.textValue(), Optional.ofNullable(body.get("data"))));
                    return codec().object().put("result", "resolved").put("version", r.document().version())
                            .set("conflict", r.conflict().toJson());
                }));
    }

    private FrameCodec codec() {
        return gateway.engine().codec();
    }

    private Documents documents() {
        return gateway.engine().documents().orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                "documents are not enabled on this node"));
    }

    private interface Handler {
        JsonNode apply(Principal service, JsonNode body);
    }

    /** Authenticates a service token, reads a JSON object body when {@code withBody}, answers JSON. */
    private void respond(ServerRequest req, ServerResponse res, boolean withBody, Handler handler) {
        FrameCodec codec = codec();
        try {
            Principal service = authenticate(req);
            JsonNode body = codec.object();
            if (withBody) {
                body = codec.parse(req.content().as(String.class));
                if (!body.isObject()) {
                    throw bad("the body must be a JSON object");
                }
            }
            JsonNode answer = handler.apply(service, body);
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            res.send(codec.write(answer));
        } catch (ProtocolException e) {
            error(res, codec, e.code(), e.getMessage());
        } catch (NumberFormatException e) {
            error(res, codec, ErrorCode.BAD_REQUEST, "a number was expected: " + e.getMessage());
        } catch (io.helidon.http.RequestException | io.helidon.http.HttpException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "REST " + req.prologue().uriPath().path() + " failed", e);
            error(res, codec, ErrorCode.INTERNAL, "internal error");
        }
    }

    private void publish(ServerRequest req, ServerResponse res) {
        respond(req, res, true, (service, body) -> {
            List<String> channels = new ArrayList<>();
            JsonNode one = body.get("channel");
            JsonNode many = body.get("channels");
            if (one != null && !one.isNull()) {
                if (!one.isTextual()) {
                    throw bad("field 'channel' must be a string");
                }
                channels.add(one.textValue());
            }
            if (many != null && !many.isNull()) {
                if (!many.isArray()) {
                    throw bad("field 'channels' must be an array of strings");
                }
                for (JsonNode c : many) {
                    if (!c.isTextual()) {
                        throw bad("field 'channels' must be an array of strings");
                    }
                    channels.add(c.textValue());
                }
            }
            if (channels.isEmpty()) {
                throw bad("give 'channel' or 'channels'");
            }
            if (channels.size() > 100) {
                throw bad("at most 100 channels per publication");
            }
            return published(gateway.engine().publish(service.tenant(), channels, type(body), data(body),
                    eventId(body)));
        });
    }

    private void sendToUser(ServerRequest req, ServerResponse res) {
        respond(req, res, true, (service, body) -> {
            String user = req.path().pathParameters().get("id");
            return published(gateway.engine().publish(service.tenant(), List.of("user:" + user), type(body),
                    data(body), eventId(body)));
        });
    }

    /** {@code {"publications":[{channel, eventId, epoch, offset}]}}. */
    private JsonNode published(List<Publication> publications) {
        ObjectNode answer = codec().object();
        ArrayNode list = answer.putArray("publications");
        for (Publication p : publications) {
            ObjectNode o = list.addObject().put("channel", p.channel().name().toString()).put("eventId", p.eventId());
            p.position().ifPresent(pos -> o.put("epoch", pos.epoch()).put("offset", pos.offset()));
        }
        return answer;
    }

    private Principal authenticate(ServerRequest req) {
        String token = req.headers().first(HeaderNames.AUTHORIZATION)
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim())
                .orElseThrow(() -> new ProtocolException(ErrorCode.UNAUTHORIZED, "Authorization: Bearer token required"));
        Principal p = gateway.verifier().verify(token);
        if (!p.hasRole(gateway.serviceRole())) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "the service API needs the '" + gateway.serviceRole()
                    + "' role");
        }
        return p;
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

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }

    private static void error(ServerResponse res, FrameCodec codec, ErrorCode code, String message) {
        res.status(Status.create(code.httpStatus()));
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        if (code == ErrorCode.UNAUTHORIZED) {
            res.headers().set(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        res.send(codec.write(codec.object().put("code", code.wire()).put("message", String.valueOf(message))));
    }
}
