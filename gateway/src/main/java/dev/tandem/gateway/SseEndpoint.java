package dev.tandem.gateway;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.operations.Delivery;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.operations.Subscriptions;
import dev.tandem.operations.UserRates;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.protocol.Utf8;
import dev.tandem.session.FleetLimits;
import dev.tandem.session.SessionLimits;
import dev.tandem.telemetry.LogText;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Server-Sent Events, for networks that break WebSocket (DESIGN section 10, issue 12.2), on the
 * same {@link Operations} as the WebSocket:
 * <ul>
 *   <li>{@code GET /sse?channel=NAME&channel=…} ({@code Authorization: Bearer} or
 *       {@code access_token=}) opens an {@code EventSource} stream of the tandem.v1 server frames:
 *       SSE event {@code welcome} (the tandem.v1 welcome frame; its {@code session} is the stream's id,
 *       {@code heartbeatMs} how often a comment line keeps the stream alive), then per channel {@code subscribed} (the subscribe reply, or
 *       {@code error}), then {@code event}, {@code presence}, {@code conflict}, and
 *       {@code disconnect} before the server ends it. Each event's {@code data} is the frame's JSON.
 *       Every {@code id:} line carries the positions (epoch, offset) of all the stream's channels;
 *       an {@code EventSource} sends the last one back as {@code Last-Event-ID} when it reconnects
 *       (or give {@code lastEventId=}), and the stream resumes each channel right after it: no
 *       gap, no duplicate (within the history window; otherwise {@code recovered: false}).</li>
 *   <li>{@code POST /sse/send} (Bearer token) takes one client frame ({@code publish},
 *       {@code ping}, {@code ack}, {@code presence} query, {@code doc.get}, {@code doc.query},
 *       {@code doc.update}, {@code sync}, {@code conflict.resolve}) and answers its {@code reply}
 *       or {@code error} frame (the error code's HTTP status). A user's POSTs share one budget
 *       of {@code messages-per-second} with {@code burst} ({@code rate_limited}, 429, beyond).</li>
 * </ul>
 * No sticky sessions: a stream's state is its URL and its last event id, and every POST stands
 * alone, so any node serves any request. To subscribe to more or fewer channels, the client opens
 * the stream again with the new list and its last event id. Revocations and disconnects end
 * streams as they close sockets.
 *
 * <p>Streams are connections for the fleet controls: they count in {@code tandem_connections}
 * and the connection meters, and against {@code max-connections} and
 * {@code max-connections-per-tenant} together with this node's WebSocket connections (a stream
 * over a limit gets a {@code disconnect} event with 4030 / 4031 and ends); a stream subscribed to
 * no channel ends with 4011 after {@code idle-timeout}. A client that went away is noticed at the
 * next write, at the latest the next heartbeat comment.
 */
final class SseEndpoint implements HttpService {
    private static final System.Logger LOG = System.getLogger(SseEndpoint.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String END = "\u0000end";

    private final Supplier<Operations> layer;
    /** This node's id, for the welcome frame. */
    private final Supplier<String> node;
    private final FleetLimits fleet;
    private final Fleet counts;
    /** Open streams per tenant on this node (the tenant limit counts them with the WebSocket connections). */
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> perTenant = new ConcurrentHashMap<>();

    /**
     * What the stream endpoint needs from the rest of the node to apply the fleet limits: the
     * WebSocket connections (streams count with them against {@code max-connections} and
     * {@code max-connections-per-tenant}) and the connection meters.
     */
    interface Fleet {
        /** Open WebSocket connections on this node. */
        int webSockets();

        /** Authenticated WebSocket connections of the tenant on this node. */
        int webSockets(String tenant);

        /** The meters of connections ({@code tandem_connections_*}, {@code tandem_tenant_connections}). */
        GatewayTelemetry telemetry();
    }
    private final FrameCodec codec;
    private final SessionLimits limits;
    private final Clock clock;
    private final Map<String, Stream> streams = new ConcurrentHashMap<>();
    /** Each user's POSTs share one budget of {@code messages-per-second} with {@code burst}. */
    private final UserRates rates;
    private volatile boolean listening;

    SseEndpoint(Supplier<Operations> layer, Supplier<String> node, FrameCodec codec, SessionLimits limits,
                FleetLimits fleet, Fleet counts, Clock clock) {
        this.layer = layer;
        this.node = node;
        this.fleet = fleet;
        this.counts = counts;
        this.codec = codec;
        this.limits = limits;
        this.clock = clock;
        this.rates = new UserRates(limits.messagesPerSecond(), limits.burst());
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", this::stream).post("/send", this::send);
    }

    /** Streams open on this node (tests, health). */
    int streamCount() {
        return streams.size();
    }

    /** Ends every stream (drain): each gets a {@code disconnect} with {@code reconnect: true}. */
    void drain() {
        streams.values().forEach(s -> s.end(CloseCode.SERVICE_RESTART, "node restarting; reconnect"));
    }

    // ------------------------------------------------------------------ POST /sse/send

    private void send(ServerRequest req, ServerResponse res) {
        Operations ops = layer.get();
        long id = 0;
        Result result;
        try {
            Principal who = ops.authenticate(bearer(req).orElseThrow(() -> new ProtocolException(
                    ErrorCode.UNAUTHORIZED, "Authorization: Bearer token required"))).principal();
            // bytes, not text: the body must be strictly valid UTF-8 before it is parsed
            String text = Utf8.decode(RequestBodies.read(req));
            id = codec.peekId(text);
            if (!rates.tryAcquire(who, 1)) {
                throw new ProtocolException(ErrorCode.RATE_LIMITED, "more than " + limits.messagesPerSecond()
                        + " messages per second; slow down");
            }
            ClientFrame frame = codec.decodeClient(text);
            result = ops.request(who, frame);
        } catch (ProtocolException e) {
            result = Result.failed(e);
        }
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        switch (result) {
            case Result.Ok ok -> res.send(codec.encode(new ServerFrame.Reply(id, ok.body())));
            case Result.Failed f -> {
                res.status(Status.create(f.code().httpStatus()));
                res.send(codec.encode(new ServerFrame.Error(id, f.code(), f.message())));
            }
        }
    }

    // ------------------------------------------------------------------ GET /sse

    private void stream(ServerRequest req, ServerResponse res) {
        Operations ops = layer.get();
        listen(ops);
        Hooks.Admitted admitted;
        Map<String, Position> since;
        Set<String> channels = new LinkedHashSet<>(req.query().all("channel", java.util.List::of));
        try {
            admitted = ops.authenticate(bearer(req).or(() -> req.query().first("access_token").asOptional())
                    .orElseThrow(() -> new ProtocolException(ErrorCode.UNAUTHORIZED,
                            "a token is required (Authorization: Bearer, or access_token=)")));
            since = positions(req.headers().first(HeaderNames.create("Last-Event-ID"))
                    .or(() -> req.query().first("lastEventId").asOptional()));
        } catch (ProtocolException e) {
            refuse(res, e);
            return;
        }
        channels.addAll(admitted.channels());
        channels.addAll(since.keySet());
        if (channels.size() > limits.maxSubscriptions()) {
            refuse(res, new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "at most " + limits.maxSubscriptions()
                    + " channels per stream"));
            return;
        }
        Principal who = admitted.principal();
        Stream stream = new Stream(newId(), who, limits.outboundQueueMessages());
        res.headers().set(HeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-cache");
        res.headers().set(HeaderNames.create("X-Accel-Buffering"), "no");
        GatewayTelemetry telemetry = counts.telemetry();
        telemetry.connectionOpened();
        Optional<CloseCode> over = admit(who.tenant());
        if (over.isPresent()) {
            // the close semantics of a socket over a limit: a disconnect event, then the end
            CloseCode code = over.get();
            String reason = code == CloseCode.NODE_FULL
                    ? "this node has " + fleet.maxConnections() + " connections; reconnect to another node"
                    : "tenant " + who.tenant() + " has " + fleet.maxConnectionsPerTenant() + " connections on this node";
            LOG.log(System.Logger.Level.DEBUG, () -> "stream refused for tenant " + LogText.safe(who.tenant()) + ": "
                    + code.name());
            res.send(("event: disconnect\ndata: " + codec.encode(new ServerFrame.Disconnect(code.code(), reason,
                    code.reconnect())) + "\n\n").getBytes(StandardCharsets.UTF_8));
            telemetry.connectionClosed(code.code());
            return;
        }
        telemetry.tenantConnections(who.tenant(), 1);
        streams.put(stream.id, stream);
        Subscriptions subs = ops.subscriptions("sse-" + stream.id, who, stream, limits.maxSubscriptions());
        try (OutputStream out = res.outputStream()) {
            stream.out = out;
            // the tandem.v1 welcome frame, the stream's id as its session
            stream.write("welcome", codec.encode(new ServerFrame.Welcome(stream.id, node.get(), who.user(), who.tenant(),
                    limits.heartbeatInterval().toMillis(), who.expiresAt(), new ServerFrame.Limits(limits.maxFrameBytes(),
                    limits.messagesPerSecond(), limits.burst(), limits.maxSubscriptions()))), false);
            out.flush();
            for (String channel : channels) {
                Optional<Position> from = Optional.ofNullable(since.get(channel));
                subs.subscribe(new ClientFrame.Subscribe(0, channel, from, false), r -> stream.answered(channel, r));
            }
            stream.pump();
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "stream " + stream.id + " ended: " + e);
        } finally {
            subs.close();
            streams.remove(stream.id);
            perTenant.computeIfPresent(who.tenant(), (t, n) -> n.decrementAndGet() <= 0 ? null : n);
            telemetry.tenantConnections(who.tenant(), -1);
            telemetry.connectionClosed(stream.endCode);
        }
    }

    /**
     * Counts a new stream of the tenant, unless the node or the tenant is at its limit (streams and
     * WebSocket connections together): then the close code to end it with, and nothing counted.
     */
    private Optional<CloseCode> admit(String tenant) {
        if (fleet.maxConnections() > 0 && counts.webSockets() + streams.size() >= fleet.maxConnections()) {
            return Optional.of(CloseCode.NODE_FULL);
        }
        int max = fleet.maxConnectionsPerTenant();
        boolean[] admitted = new boolean[1];
        perTenant.compute(tenant, (t, n) -> {
            java.util.concurrent.atomic.AtomicInteger count = n == null ? new java.util.concurrent.atomic.AtomicInteger() : n;
            if (max == 0 || counts.webSockets(tenant) + count.get() < max) {
                count.incrementAndGet();
                admitted[0] = true;
            }
            return count.get() == 0 ? null : count;
        });
        return admitted[0] ? Optional.empty() : Optional.of(CloseCode.TENANT_LIMIT);
    }

    /** Open streams of the tenant on this node (tests). */
    int streamCount(String tenant) {
        var n = perTenant.get(tenant);
        return n == null ? 0 : n.get();
    }

    private synchronized void listen(Operations ops) {
        if (!listening) {
            listening = true;
            ops.onNotice(this::notice);
        }
    }

    private void notice(Revocations.Notice n) {
        CloseCode code = n instanceof Revocations.UserDisconnected ? CloseCode.DISCONNECTED : CloseCode.TOKEN_REVOKED;
        for (Stream s : streams.values()) {
            if (Revocations.concerns(n, s.who)) {
                s.end(code, code == CloseCode.DISCONNECTED ? "disconnected by the application" : "token revoked");
            }
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

    private static Optional<String> bearer(ServerRequest req) {
        return req.headers().first(HeaderNames.AUTHORIZATION)
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim());
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
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "Last-Event-ID is not an id this server wrote");
        }
        if (!map.isObject() || map.size() > limits.maxSubscriptions()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "Last-Event-ID is not an id this server wrote");
        }
        map.properties().forEach(e -> {
            JsonNode p = e.getValue();
            if (!p.isArray() || p.size() != 2 || !p.get(0).isTextual() || !p.get(1).canConvertToLong()
                    || p.get(1).asLong() < 0) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "Last-Event-ID is not an id this server wrote");
            }
            result.put(e.getKey(), new Position(p.get(0).textValue(), p.get(1).asLong()));
        });
        return result;
    }

    private static String newId() {
        byte[] b = new byte[12];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** One stream: its queue (filled by publishers), written by the request's own thread. */
    private final class Stream implements Delivery {
        private final String id;
        private final Principal who;
        private final BlockingQueue<Object> queue;
        private final Map<String, Position> positions = new LinkedHashMap<>();
        private volatile OutputStream out;
        private volatile boolean ended;
        /** The close code the stream ended with (1000: the client went away). */
        private volatile int endCode = 1000;
        /** Channels this stream is subscribed to (the idle timeout closes a stream with none). */
        private final java.util.concurrent.atomic.AtomicInteger subscribed = new java.util.concurrent.atomic.AtomicInteger();
        private final long openedNanos = System.nanoTime();

        private Stream(String id, Principal who, int capacity) {
            this.id = id;
            this.who = who;
            this.queue = new ArrayBlockingQueue<>(capacity + 2);
        }

        /** A subscribe answer: {@code subscribed} with the reply, or {@code error}. */
        void answered(String channel, Result r) {
            ObjectNode frame = switch (r) {
                case Result.Ok ok -> {
                    subscribed.incrementAndGet();
                    yield ok.body().deepCopy().put("op", "subscribed");
                }
                case Result.Failed f -> codec.object().put("op", "error").put("channel", channel)
                        .put("code", f.code().wire()).put("message", f.message());
            };
            if (!queue.offer(frame)) {
                overflowed();
            }
        }

        @Override
        public boolean live(Publication publication, Encoded frame) {
            return queue.offer(new Live(publication, frame.text()));
        }

        @Override
        public boolean replay(Publication publication) {
            return queue.offer(publication);
        }

        @Override
        public void overflowed() {
            end(CloseCode.SLOW_CONSUMER, "stream queue full: read faster or subscribe to less");
        }

        @Override
        public void notice(Result.Failed notice) {
            queue.offer(codec.object().put("op", "error").put("code", notice.code().wire())
                    .put("message", notice.message()));
        }

        void end(CloseCode code, String reason) {
            if (ended) {
                return;
            }
            ended = true;
            endCode = code.code();
            queue.clear();
            queue.offer(codec.object().put("op", "disconnect").put("code", code.code()).put("reason", reason)
                    .put("reconnect", code.reconnect()));
            queue.offer(END);
        }

        /** Writes queued items until the stream ends; a comment line keeps idle proxies open. */
        void pump() throws IOException {
            long heartbeat = limits.heartbeatInterval().toMillis();
            long idle = fleet.idleTimeout().toMillis();
            long lastBeat = System.nanoTime();
            while (true) {
                Object item;
                try {
                    // a stream subscribed to nothing is checked for idleness at least as often as it may idle
                    long wait = idle > 0 && subscribed.get() == 0 ? Math.min(heartbeat, Math.max(50, idle / 4)) : heartbeat;
                    item = queue.poll(wait, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (item == null) {
                    if (who.expiredAt(clock.instant())) {
                        end(CloseCode.TOKEN_EXPIRED, "token expired; reconnect with a fresh token");
                        continue;
                    }
                    if (idle > 0 && subscribed.get() == 0 && System.nanoTime() - openedNanos > idle * 1_000_000L) {
                        // a stream carries nothing without channels: what the WebSocket closes as idle
                        end(CloseCode.IDLE, "subscribed to nothing for " + fleet.idleTimeout().toSeconds()
                                + " s; open the stream with channels");
                        continue;
                    }
                    if (System.nanoTime() - lastBeat >= heartbeat * 1_000_000L) {
                        out.write(":\n\n".getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        lastBeat = System.nanoTime();
                    }
                    continue;
                }
                if (item == END) {
                    return;
                }
                switch (item) {
                    case Live l -> publication(l.publication(), l.frame());
                    case Publication p -> publication(p, codec.encode(p.toFrame()));
                    case ObjectNode frame -> {
                        if (frame.has("epoch") && frame.has("offset") && frame.path("op").asText().equals("subscribed")) {
                            positions.put(frame.path("channel").asText(), new Position(frame.path("epoch").asText(),
                                    frame.path("offset").asLong()));
                            write("subscribed", codec.write(frame), true);
                        } else {
                            write(frame.path("op").asText("message"), codec.write(frame), false);
                        }
                    }
                    default -> throw new IllegalStateException("unknown item " + item.getClass());
                }
                if (queue.isEmpty()) {
                    out.flush();
                }
            }
        }

        private void publication(Publication p, String frame) throws IOException {
            boolean durable = p.position().isPresent();
            p.position().ifPresent(pos -> positions.put(p.channel().name().toString(), pos));
            write(p.toFrame().op(), frame, durable);
        }

        private void write(String event, String data, boolean withId) throws IOException {
            StringBuilder sb = new StringBuilder(data.length() + 64);
            if (withId) {
                ObjectNode ids = codec.object();
                positions.forEach((ch, pos) -> {
                    ArrayNode a = ids.putArray(ch);
                    a.add(pos.epoch());
                    a.add(pos.offset());
                });
                sb.append("id: ").append(Base64.getUrlEncoder().withoutPadding()
                        .encodeToString(codec.write(ids).getBytes(StandardCharsets.UTF_8))).append('\n');
            }
            sb.append("event: ").append(event).append('\n');
            // JSON has no raw line breaks: one data line
            sb.append("data: ").append(data).append("\n\n");
            out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
        }
    }

    private record Live(Publication publication, String frame) {
    }
}
