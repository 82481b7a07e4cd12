package dev.tandem.gateway;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.Operations;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Engine;
import dev.tandem.session.Session;
import dev.tandem.session.SessionLimits;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Server-Sent Events, for networks that break WebSocket: it only translates HTTP into session
 * calls. A stream is a connection like a WebSocket, a {@link Session} of the node's
 * {@link Engine} with an {@link SseTransport}; its limits, timers, hooks and operations are the
 * session's.
 * <ul>
 *   <li>{@code GET /sse?channel=NAME&channel=…} ({@code Authorization: Bearer} or
 *       {@code access_token=}) opens the stream. The token is checked and the connect hook asked
 *       before the response starts, so a refused token is an HTTP error; then the session is
 *       opened, subscribed to the named channels, each from the position the {@code Last-Event-ID}
 *       (or {@code lastEventId=}) gives it; {@code delta=fossil} asks for delta payloads on each
 *       of them, as a WebSocket {@code subscribe} with {@code delta} does (the session's own
 *       subscribe: the same answer, the same whole first and replayed events).</li>
 *   <li>{@code POST /sse/send[?session=ID]} (Bearer token) takes one client frame and answers
 *       its {@code reply} or {@code error} frame (the error code's HTTP status). Naming the
 *       stream's session (the {@code welcome}'s {@code session}) makes it run through that
 *       session when the stream is on this node; otherwise it runs under the same limits kept
 *       per user ({@link Engine#request}). No sticky sessions.</li>
 * </ul>
 */
final class SseEndpoint implements HttpService {
    private static final System.Logger LOG = System.getLogger(SseEndpoint.class.getName());

    private final Supplier<Engine> engine;
    private final Supplier<Operations> layer;
    private final FrameCodec codec;
    private final SessionLimits limits;

    /** The endpoint on the node's engine and operations (supplied once built: the server is built first). */
    SseEndpoint(Supplier<Engine> engine, Supplier<Operations> layer, FrameCodec codec, SessionLimits limits) {
        this.engine = engine;
        this.layer = layer;
        this.codec = codec;
        this.limits = limits;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::stream).post("/send", this::send);
    }

    // ------------------------------------------------------------------ POST /sse/send

    private void send(ServerRequest req, ServerResponse res) {
        Optional<String> token = RequestParts.bearer(req.headers());
        ServerFrame answer;
        if (token.isEmpty()) {
            answer = new ServerFrame.Error(0, ErrorCode.UNAUTHORIZED, "Authorization: Bearer token required");
        } else {
            try {
                // at most one byte more than a frame may have: enough to tell that it is too large
                byte[] body = RequestBodies.read(req, limits.maxFrameBytes() + 1);
                answer = engine.get().request(req.query().first("session").asOptional(), token.get(), body);
            } catch (ProtocolException e) {
                answer = ServerFrame.Error.of(e);
            }
        }
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        if (answer instanceof ServerFrame.Error e) {
            res.status(Status.create(e.code().httpStatus()));
            if (e.code() == ErrorCode.UNAUTHORIZED) {
                res.headers().set(HeaderNames.WWW_AUTHENTICATE, "Bearer");
            }
        }
        res.send(codec.encode(answer));
    }

    // ------------------------------------------------------------------ GET /sse

    private void stream(ServerRequest req, ServerResponse res) {
        Hooks.Admitted admitted;
        Map<String, Optional<Position>> channels = new LinkedHashMap<>();
        try {
            admitted = layer.get().authentication().stream(RequestParts.bearer(req.headers())
                    .or(() -> req.query().first("access_token").asOptional())
                    .orElseThrow(() -> new ProtocolException(ErrorCode.UNAUTHORIZED,
                            "a token is required (Authorization: Bearer, or access_token=)")));
            for (String channel : req.query().all("channel", java.util.List::of)) {
                channels.put(channel, Optional.empty());
            }
            positions(req.headers().first(HeaderNames.create("Last-Event-ID"))
                    .or(() -> req.query().first("lastEventId").asOptional()))
                    .forEach((channel, position) -> channels.put(channel, Optional.of(position)));
            if (channels.size() > limits.maxSubscriptions()) {
                throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "at most " + limits.maxSubscriptions()
                        + " channels per stream");
            }
        } catch (ProtocolException e) {
            refuse(res, e);
            return;
        }
        res.headers().set(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-cache");
        res.headers().set(HeaderNames.create("X-Accel-Buffering"), "no");
        SseTransport transport = new SseTransport(res.outputStream(),
                RequestParts.address(req.remotePeer().address()), codec);
        Session session = engine.get().open(transport, admitted, channels, req.query().first("delta").asOptional(),
                transport::ended);
        try {
            transport.awaitEnd();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.log(System.Logger.Level.DEBUG, () -> "stream " + session.id() + " interrupted");
            session.transportClosed(1006);
        }
    }

    private void refuse(ServerResponse res, ProtocolException e) {
        ErrorCode code = e.code();
        res.status(Status.create(code.httpStatus()));
        if (code == ErrorCode.UNAUTHORIZED) {
            res.headers().set(HeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        String reason = e instanceof TokenExpiredException ? "token_expired"
                : e instanceof TokenRevokedException ? "token_revoked" : code.wire();
        res.send(codec.write(codec.object().put("code", code.wire()).put("reason", reason)
                .put("message", String.valueOf(e.getMessage()))));
    }

    /** The positions an event id carries: base64url of {@code {"channel": ["epoch", offset], …}}. */
    private Map<String, Position> positions(Optional<String> eventId) {
        Map<String, Position> result = new LinkedHashMap<>();
        if (eventId.isEmpty() || eventId.get().isBlank()) {
            return result;
        }
        JsonNode map;
        try {
            map = codec.parse(Base64.getUrlDecoder().decode(eventId.get().trim()));
        } catch (IllegalArgumentException | ProtocolException e) {
            throw notOurs();
        }
        if (!map.isObject() || map.size() > limits.maxSubscriptions()) {
            throw notOurs();
        }
        map.properties().forEach(e -> {
            JsonNode p = e.getValue();
            if (!p.isArray() || p.size() != 2 || !p.get(0).isTextual() || !p.get(1).canConvertToLong()
                    || p.get(1).asLong() < 0) {
                throw notOurs();
            }
            result.put(e.getKey(), new Position(p.get(0).textValue(), p.get(1).asLong()));
        });
        return result;
    }

    private static ProtocolException notOurs() {
        return new ProtocolException(ErrorCode.BAD_REQUEST, "Last-Event-ID is not an id this server wrote");
    }
}
