package dev.tandem.protocol;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The JSON codec of {@code tandem.v1}: client and server frames to and from text.
 *
 * <p>Decoding is strict about what the contract defines and lenient about the rest: a
 * missing or wrongly typed field, an unknown {@code op}, or text that is not one JSON object
 * throws a {@link ProtocolException} with {@link ErrorCode#BAD_REQUEST} and a message naming
 * the field; fields the contract does not know are ignored, so newer clients can talk to
 * older servers. When the frame's {@code id} could be read, the exception carries it. An object
 * that names a field twice is malformed (which of the two counts would be a guess).
 *
 * <p>Instances are immutable and thread-safe; share one.
 */
public final class FrameCodec {
    /** The WebSocket subprotocol name of this contract. */
    public static final String SUBPROTOCOL = "tandem.v1";

    /** Deepest JSON nesting accepted in a frame; deeper input is refused, not recursed into. */
    static final int MAX_NESTING_DEPTH = 64;
    /** Largest id accepted: the largest integer a JavaScript number represents exactly. */
    static final long MAX_ID = (1L << 53) - 1;

    private final ObjectMapper mapper;

    private FrameCodec(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** A codec with the contract's limits. */
    public static FrameCodec create() {
        // One shared pool of parser/generator buffers. Jackson's default keeps them per thread,
        // and every connection decodes on its own virtual thread: ~16 KiB of buffers per
        // connection, held for its whole life.
        JsonFactory factory = JsonFactory.builder().recyclerPool(JsonRecyclerPools.sharedConcurrentDequePool()).build();
        JsonMapper mapper = JsonMapper.builder(factory)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                // one JSON value per frame or body: "{...}garbage" is malformed, not a frame
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .nodeFactory(FiniteNumbers.INSTANCE)
                .build();
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH)
                .build());
        return new FrameCodec(mapper);
    }

    /** The Jackson mapper the codec uses, for building {@code data} payloads. */
    public ObjectMapper mapper() {
        return mapper;
    }

    /** A new empty JSON object, e.g. for a {@link ServerFrame.Reply} body. */
    public ObjectNode object() {
        return mapper.createObjectNode();
    }

    /**
     * Parses arbitrary JSON (a payload, not a frame).
     *
     * @throws ProtocolException with {@link ErrorCode#BAD_REQUEST} if it is not valid JSON
     */
    public JsonNode parse(String json) {
        try {
            JsonNode node = mapper.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "empty JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw malformed(e);
        }
    }

    /**
     * Parses arbitrary JSON given as bytes (a request body, a record), refusing anything that is
     * not strictly valid UTF-8 ({@link Utf8}) before it is parsed.
     *
     * @throws ProtocolException with {@link ErrorCode#BAD_REQUEST} if it is not valid UTF-8 or JSON
     */
    public JsonNode parse(byte[] utf8) {
        Utf8.check(utf8);
        try {
            JsonNode node = mapper.readTree(utf8);
            if (node == null || node.isMissingNode()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "empty JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw malformed(e);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * What was wrong with malformed JSON, in the contract's words: the parser's own sentence up to
     * its advice (Jackson suggests parser features to relax, which are not the client's to turn
     * on), and where.
     */
    static ProtocolException malformed(JsonProcessingException e) {
        String m = String.valueOf(e.getOriginalMessage());
        String what;
        if (m.startsWith("Trailing token")) {
            what = "text after the JSON value";
        } else {
            int colon = m.indexOf(": ");
            what = colon > 0 ? m.substring(0, colon) : m;
            int advice = what.indexOf('`');
            if (advice >= 0) {
                what = what.substring(0, advice).trim();
            }
        }
        com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
        String where = at == null || at.getLineNr() < 1 ? ""
                : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        return new ProtocolException(ErrorCode.BAD_REQUEST, "malformed JSON: " + truncate(what) + where);
    }

    /** Serializes arbitrary JSON. */
    public String write(JsonNode node) {
        try {
            return mapper.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- client frames

    /**
     * Decodes a frame received from a client.
     *
     * @throws ProtocolException with {@link ErrorCode#BAD_REQUEST} for anything malformed
     */
    public ClientFrame decodeClient(String text) {
        ObjectNode obj = parseObject(text);
        long id = readId(obj);
        Fields f = new Fields(obj, id);
        String op = f.requiredString("op");
        return switch (op) {
            case "connect" -> new ClientFrame.Connect(id, f.requiredString("token"));
            case "refresh" -> new ClientFrame.Refresh(id, f.requiredString("token"));
            case "subscribe" -> new ClientFrame.Subscribe(id, f.requiredString("channel"), f.optionalPosition("since"),
                    f.optionalBoolean("presence").orElse(false), f.optionalBoolean("snapshot").orElse(false),
                    f.optionalString("delta"));
            case "unsubscribe" -> new ClientFrame.Unsubscribe(id, f.requiredString("channel"));
            case "publish" -> new ClientFrame.Publish(id, f.requiredString("channel"), f.requiredString("type"),
                    f.required("data"), f.optionalBoolean("ephemeral").orElse(false));
            case "presence" -> new ClientFrame.Presence(id, f.requiredString("channel"), f.optionalObject("state"));
            case "doc.get" -> new ClientFrame.DocGet(id, f.requiredString("docType"), f.requiredString("docId"));
            case "doc.query" -> docQuery(f, id);
            case "doc.history" -> docHistory(f, id);
            case "doc.update" -> docUpdate(f, id, id);
            case "sync" -> new ClientFrame.Sync(id, syncOps(f, id));
            case "conflict.resolve" -> new ClientFrame.ConflictResolve(id, f.requiredString("conflictId"),
                    f.requiredString("resolution"), f.optionalAny("data"));
            case "ack" -> new ClientFrame.Ack(id, f.requiredString("channel"), f.requiredNonNegativeLong("offset"),
                    f.optionalString("epoch"));
            case "ping" -> new ClientFrame.Ping(id);
            default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "unknown op '" + truncate(op) + "'");
        };
    }

    private static ClientFrame.DocUpdate docUpdate(Fields f, long id, long frameId) {
        Optional<JsonNode> data = f.optionalObject("data");
        Optional<JsonNode> patch = f.optionalObject("patch");
        if (data.isPresent() == patch.isPresent()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "doc.update needs exactly one of 'data' or 'patch'");
        }
        return new ClientFrame.DocUpdate(frameId, f.requiredString("docType"), f.requiredString("docId"),
                f.requiredNonNegativeLong("baseVersion"), f.requiredString("opId"), data, patch,
                f.optionalString("afterOpId"));
    }

    private static ClientFrame.DocHistory docHistory(Fields f, long id) {
        long limit = f.optionalNonNegativeLong("limit").orElse((long) ClientFrame.DocHistory.DEFAULT_LIMIT);
        if (limit < 1 || limit > ClientFrame.DocHistory.MAX_LIMIT) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field 'limit' must be 1-"
                    + ClientFrame.DocHistory.MAX_LIMIT);
        }
        return new ClientFrame.DocHistory(id, f.requiredString("docType"), f.requiredString("docId"), (int) limit,
                f.optionalString("cursor"));
    }

    private static ClientFrame.DocQuery docQuery(Fields f, long id) {
        ObjectNode where = f.requiredObject("where");
        if (where.size() != 1) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field 'where' must name exactly one field");
        }
        Map.Entry<String, JsonNode> match = where.properties().iterator().next();
        JsonNode value = match.getValue();
        if (!value.isTextual() && !value.isNumber() && !value.isBoolean()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field 'where." + truncate(match.getKey())
                    + "' must be a string, number or boolean");
        }
        long limit = f.optionalNonNegativeLong("limit").orElse((long) ClientFrame.DocQuery.DEFAULT_LIMIT);
        if (limit < 1 || limit > ClientFrame.DocQuery.MAX_LIMIT) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field 'limit' must be 1-"
                    + ClientFrame.DocQuery.MAX_LIMIT);
        }
        return new ClientFrame.DocQuery(id, f.requiredString("docType"), match.getKey(), value, (int) limit,
                f.optionalString("after"));
    }

    /**
     * Decodes the {@code ops} of a {@code sync} batch (also the body of the REST {@code /sync}):
     * an array of {@code doc.update} bodies.
     *
     * @throws ProtocolException with {@link ErrorCode#BAD_REQUEST} naming the first malformed op
     */
    public List<ClientFrame.DocUpdate> decodeSyncOps(JsonNode ops) {
        if (ops == null || ops.isNull() || ops.isMissingNode()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "missing field 'ops'");
        }
        return syncOps(ops, 0);
    }

    private List<ClientFrame.DocUpdate> syncOps(Fields f, long id) {
        return syncOps(f.required("ops"), id);
    }

    private static List<ClientFrame.DocUpdate> syncOps(JsonNode ops, long id) {
        if (!ops.isArray()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "field 'ops' must be an array");
        }
        List<ClientFrame.DocUpdate> result = new ArrayList<>(ops.size());
        int i = 0;
        for (JsonNode op : ops) {
            if (!op.isObject()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "ops[" + i + "] must be an object");
            }
            try {
                result.add(docUpdate(new Fields((ObjectNode) op, id), id, 0));
            } catch (ProtocolException e) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "ops[" + i + "]: " + e.getMessage());
            }
            i++;
        }
        return result;
    }

    /** Encodes a client frame (used by the Java client and by tests). */
    public String encode(ClientFrame frame) {
        ObjectNode o = mapper.createObjectNode();
        o.put("op", frame.op());
        if (frame.id() > 0) {
            o.put("id", frame.id());
        }
        switch (frame) {
            case ClientFrame.Connect c -> o.put("token", c.token());
            case ClientFrame.Refresh r -> o.put("token", r.token());
            case ClientFrame.Subscribe s -> {
                o.put("channel", s.channel());
                s.since().ifPresent(p -> o.set("since", position(p)));
                if (s.presence()) {
                    o.put("presence", true);
                }
                if (s.snapshot()) {
                    o.put("snapshot", true);
                }
                s.delta().ifPresent(d -> o.put("delta", d));
            }
            case ClientFrame.Unsubscribe u -> o.put("channel", u.channel());
            case ClientFrame.Publish p -> {
                o.put("channel", p.channel());
                o.put("type", p.type());
                o.set("data", p.data());
                if (p.ephemeral()) {
                    o.put("ephemeral", true);
                }
            }
            case ClientFrame.Presence p -> {
                o.put("channel", p.channel());
                p.state().ifPresent(s -> o.set("state", s));
            }
            case ClientFrame.DocGet g -> {
                o.put("docType", g.docType());
                o.put("docId", g.docId());
            }
            case ClientFrame.DocHistory h -> {
                o.put("docType", h.docType());
                o.put("docId", h.docId());
                o.put("limit", h.limit());
                h.cursor().ifPresent(c -> o.put("cursor", c));
            }
            case ClientFrame.DocQuery q -> {
                o.put("docType", q.docType());
                o.putObject("where").set(q.field(), q.value());
                o.put("limit", q.limit());
                q.after().ifPresent(a -> o.put("after", a));
            }
            case ClientFrame.DocUpdate u -> docUpdateFields(o, u);
            case ClientFrame.Sync s -> {
                var ops = o.putArray("ops");
                for (ClientFrame.DocUpdate u : s.ops()) {
                    docUpdateFields(ops.addObject(), u);
                }
            }
            case ClientFrame.ConflictResolve r -> {
                o.put("conflictId", r.conflictId());
                o.put("resolution", r.resolution());
                r.data().ifPresent(d -> o.set("data", d));
            }
            case ClientFrame.Ack a -> {
                o.put("channel", a.channel());
                o.put("offset", a.offset());
                a.epoch().ifPresent(e -> o.put("epoch", e));
            }
            case ClientFrame.Ping p -> {
                // op and id only
            }
        }
        return write(o);
    }

    private static void docUpdateFields(ObjectNode o, ClientFrame.DocUpdate u) {
        o.put("docType", u.docType());
        o.put("docId", u.docId());
        o.put("baseVersion", u.baseVersion());
        o.put("opId", u.opId());
        u.afterOpId().ifPresent(a -> o.put("afterOpId", a));
        u.data().ifPresent(d -> o.set("data", d));
        u.patch().ifPresent(p -> o.set("patch", p));
    }

    // ---------------------------------------------------------------- server frames

    /** Encodes a server frame. */
    public String encode(ServerFrame frame) {
        ObjectNode o = mapper.createObjectNode();
        o.put("op", frame.op());
        switch (frame) {
            case ServerFrame.Welcome w -> {
                o.put("session", w.session());
                o.put("node", w.node());
                o.put("user", w.user());
                o.put("tenant", w.tenant());
                o.put("heartbeatMs", w.heartbeatMs());
                w.expiresAt().ifPresent(t -> o.put("expiresAt", t.toString()));
                ObjectNode l = o.putObject("limits");
                l.put("maxFrameBytes", w.limits().maxFrameBytes());
                l.put("messagesPerSecond", w.limits().messagesPerSecond());
                l.put("burst", w.limits().burst());
                l.put("maxSubscriptions", w.limits().maxSubscriptions());
            }
            case ServerFrame.Event e -> {
                return encodeEvent(e, e.form() == ServerFrame.Event.Form.PAYLOAD ? write(e.data()) : e.data().textValue());
            }
            case ServerFrame.Presence p -> {
                o.put("channel", p.channel());
                o.put("kind", p.kind());
                o.set("data", p.data());
            }
            case ServerFrame.Conflict c -> {
                o.put("conflictId", c.conflictId());
                o.put("channel", c.channel());
                o.put("epoch", c.position().epoch());
                o.put("offset", c.position().offset());
                o.set("data", c.data());
            }
            case ServerFrame.Reply r -> {
                o.put("id", r.id());
                for (Map.Entry<String, JsonNode> field : r.body().properties()) {
                    if (!field.getKey().equals("op") && !field.getKey().equals("id")) {
                        o.set(field.getKey(), field.getValue());
                    }
                }
            }
            case ServerFrame.Error e -> {
                if (e.id() > 0) {
                    o.put("id", e.id());
                }
                o.put("code", e.code().wire());
                o.put("message", e.message());
            }
            case ServerFrame.Disconnect d -> {
                o.put("code", d.code());
                o.put("reason", d.reason());
                o.put("reconnect", d.reconnect());
            }
        }
        return write(o);
    }

    /**
     * Encodes an {@code event} frame whose data is already written: {@code dataText} is the
     * payload's JSON text for {@link ServerFrame.Event.Form#PAYLOAD} (the {@code data} of
     * {@code e} is then not looked at), otherwise the text of its string {@code data}. A payload
     * written once serves every frame that carries it.
     */
    public String encodeEvent(ServerFrame.Event e, String dataText) {
        return EventFrames.encode(mapper.getFactory(), e, dataText);
    }

    /**
     * Decodes a frame received from a server (used by the Java client).
     *
     * @throws ProtocolException with {@link ErrorCode#BAD_REQUEST} for anything malformed
     */
    public ServerFrame decodeServer(String text) {
        ObjectNode obj = parseObject(text);
        long id = readId(obj);
        Fields f = new Fields(obj, id);
        String op = f.requiredString("op");
        return switch (op) {
            case "welcome" -> {
                Fields l = new Fields(f.requiredObject("limits"), id);
                yield new ServerFrame.Welcome(f.requiredString("session"), f.requiredString("node"),
                        f.requiredString("user"), f.requiredString("tenant"), f.requiredNonNegativeLong("heartbeatMs"),
                        f.optionalInstant("expiresAt"),
                        new ServerFrame.Limits((int) l.requiredNonNegativeLong("maxFrameBytes"),
                                (int) l.requiredNonNegativeLong("messagesPerSecond"),
                                (int) l.requiredNonNegativeLong("burst"),
                                (int) l.requiredNonNegativeLong("maxSubscriptions")));
            }
            case "event" -> EventFrames.decode(f);
            case "presence" -> new ServerFrame.Presence(f.requiredString("channel"), f.requiredString("kind"),
                    f.required("data"));
            case "conflict" -> new ServerFrame.Conflict(f.requiredString("conflictId"), f.requiredString("channel"),
                    new Position(nonEmpty(f, "epoch"), f.requiredNonNegativeLong("offset")), f.required("data"));
            case "reply" -> {
                ObjectNode body = obj.deepCopy();
                body.remove("op");
                body.remove("id");
                yield new ServerFrame.Reply(id, body);
            }
            case "error" -> {
                String code = f.requiredString("code");
                yield new ServerFrame.Error(id, ErrorCode.fromWire(code).orElse(ErrorCode.INTERNAL),
                        f.requiredString("message"));
            }
            case "disconnect" -> new ServerFrame.Disconnect((int) f.requiredNonNegativeLong("code"),
                    f.requiredString("reason"), f.optionalBoolean("reconnect").orElse(false));
            default -> throw new ProtocolException(ErrorCode.BAD_REQUEST, id, "unknown op '" + truncate(op) + "'");
        };
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The {@code id} of a client frame, found without building the frame: the top-level fields
     * are scanned as tokens (nested values are skipped, nothing is materialized) up to the id.
     * Used to answer a refused message (rate limit) with its id without paying for a full decode.
     *
     * @return the id, or 0 when the text is not a JSON object or has no valid id (before any
     *         syntax error)
     */
    public long peekId(String text) {
        try (JsonParser p = mapper.getFactory().createParser(text)) {
            // the id of a frame that names another field twice is still its id
            p.configure(JsonParser.Feature.STRICT_DUPLICATE_DETECTION, false);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return 0;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean isId = "id".equals(p.currentName());
                JsonToken value = p.nextToken();
                if (isId) {
                    if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                        return 0;
                    }
                    long id = p.getLongValue();
                    return id >= 1 && id <= MAX_ID ? id : 0;
                }
                p.skipChildren();
            }
            return 0;
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    private static String nonEmpty(Fields f, String name) {
        String v = f.requiredString(name);
        if (v.isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, f.id(), "field '" + name + "' must not be empty");
        }
        return v;
    }

    private ObjectNode position(Position p) {
        ObjectNode o = mapper.createObjectNode();
        o.put("epoch", p.epoch());
        o.put("offset", p.offset());
        return o;
    }

    private ObjectNode parseObject(String text) {
        JsonNode node;
        try {
            node = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw malformed(e);
        }
        if (node == null || !node.isObject()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "a frame must be one JSON object");
        }
        return (ObjectNode) node;
    }

    private static long readId(ObjectNode obj) {
        JsonNode id = obj.get("id");
        if (id == null || id.isNull()) {
            return 0;
        }
        if (!id.isIntegralNumber() || !id.canConvertToLong() || id.asLong() < 1 || id.asLong() > MAX_ID) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "field 'id' must be a positive integer up to 2^53-1");
        }
        return id.asLong();
    }

    static String truncate(String s) {
        if (s == null) {
            return "";
        }
        return s.length() <= 64 ? s : s.substring(0, 64) + "…";
    }
}
