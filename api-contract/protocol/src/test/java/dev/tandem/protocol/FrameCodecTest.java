package dev.tandem.protocol;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrameCodecTest {
    private static final FrameCodec CODEC = FrameCodec.create();

    private static JsonNode json(String s) {
        return CODEC.parse(s);
    }

    static Stream<ClientFrame> clientFrames() {
        var update = new ClientFrame.DocUpdate(0, "stock_level", "A-1@wh-7", 12, "c9:118",
                Optional.empty(), Optional.of(json("{\"inc\":{\"qty\":-3}}")));
        var following = new ClientFrame.DocUpdate(0, "stock_level", "A-1@wh-7", 12, "c9:119",
                Optional.empty(), Optional.of(json("{\"set\":{\"price\":3}}")), Optional.of("c9:118"));
        return Stream.of(
                new ClientFrame.Connect(1, "t.o.k"),
                new ClientFrame.Refresh(2, "t.o.k2"),
                new ClientFrame.Subscribe(3, "location:wh-7", Optional.of(new Position("e1", 41)), true),
                new ClientFrame.Subscribe(4, "tenant", Optional.empty(), false),
                new ClientFrame.Subscribe(4, "doc:task:t-1", Optional.empty(), false, true),
                new ClientFrame.Subscribe(4, "location:wh-7", Optional.empty(), false, false, Optional.of("fossil")),
                new ClientFrame.DocQuery(15, "stock_level", "locationId", json("\"wh-7\""), 100, Optional.empty()),
                new ClientFrame.DocQuery(16, "stock_level", "qty", json("7"), 500, Optional.of("c-1")),
                new ClientFrame.DocQuery(17, "task", "done", json("true"), 1, Optional.empty()),
                new ClientFrame.Unsubscribe(5, "tenant"),
                new ClientFrame.Publish(6, "workspace:w1", "chat", json("{\"text\":\"hi\"}"), false),
                new ClientFrame.Publish(0, "doc:task:1", "typing", json("true"), true),
                new ClientFrame.Presence(7, "workspace:w1", Optional.of(json("{\"status\":\"away\"}"))),
                new ClientFrame.Presence(8, "workspace:w1", Optional.empty()),
                new ClientFrame.DocGet(9, "stock_level", "A-1@wh-7"),
                new ClientFrame.DocHistory(30, "stock_level", "A-1@wh-7", 20, Optional.empty()),
                new ClientFrame.DocHistory(31, "task", "t-1", 100, Optional.of("c-2")),
                new ClientFrame.DocUpdate(10, "task", "t-1", 0, "c9:1", Optional.of(json("{\"title\":\"x\"}")),
                        Optional.empty()),
                new ClientFrame.Sync(11, List.of(update, update)),
                new ClientFrame.Sync(11, List.of(update, following)),
                new ClientFrame.DocUpdate(12, "task", "t-1", 3, "c9:2", Optional.empty(),
                        Optional.of(json("{\"unset\":[\"x\"]}")), Optional.of("c9:1")),
                new ClientFrame.ConflictResolve(12, "cf-1", "merge", Optional.of(json("{\"a\":1}"))),
                new ClientFrame.Ack(13, "user:bob", 17),
                new ClientFrame.Ack(13, "user:bob", 17, Optional.of("e1")),
                new ClientFrame.Ping(14));
    }

    @ParameterizedTest
    @MethodSource("clientFrames")
    void clientFramesSurviveARoundTrip(ClientFrame frame) {
        assertEquals(frame, CODEC.decodeClient(CODEC.encode(frame)));
    }

    static Stream<ServerFrame> serverFrames() {
        return Stream.of(
                new ServerFrame.Welcome("s-1", "node-a", "alice", "acme", 25_000,
                        Optional.of(Instant.parse("2026-11-22T10:00:00Z")), new ServerFrame.Limits(65536, 50, 100, 128)),
                new ServerFrame.Welcome("s-1", "node-a", "alice", "acme", 25_000, Optional.empty(),
                        new ServerFrame.Limits(1, 2, 3, 4)),
                new ServerFrame.Event("location:wh-7", Optional.of(new Position("e1", 42)), "stock.updated", "ev-1",
                        Instant.parse("2026-11-22T10:00:00Z"), Optional.empty(), json("{\"sku\":\"A-1\",\"qty\":7}")),
                new ServerFrame.Event("doc:task:1", Optional.empty(), "typing", "ev-2",
                        Instant.parse("2026-11-22T10:00:00.123Z"), Optional.of("bob"), json("{\"user\":\"bob\"}")),
                new ServerFrame.Event("location:wh-7", Optional.of(new Position("e1", 43)), "stock.updated",
                        Optional.empty(), Instant.parse("2026-11-22T10:00:00Z"), Optional.empty(),
                        TextNode.valueOf("{\"sku\":\"A-1\",\"qty\":7}"), ServerFrame.Event.Form.TEXT),
                new ServerFrame.Event("location:wh-7", Optional.of(new Position("e1", 44)), "stock.updated",
                        Optional.empty(), Instant.parse("2026-11-22T10:00:00Z"), Optional.empty(),
                        TextNode.valueOf("17\nC@0,1:8}2jZ5B0;"), ServerFrame.Event.Form.FOSSIL),
                new ServerFrame.Presence("workspace:w1", "join", json("{\"user\":\"bob\"}")),
                new ServerFrame.Conflict("cf-1", "user:alice", new Position("e1", 3),
                        json("{\"conflictId\":\"cf-1\",\"fields\":[\"qty\"]}")),
                new ServerFrame.Reply(1, (com.fasterxml.jackson.databind.node.ObjectNode) json(
                        "{\"channel\":\"location:wh-7\",\"epoch\":\"e1\",\"offset\":44,\"recovered\":true}")),
                new ServerFrame.Reply(2, (com.fasterxml.jackson.databind.node.ObjectNode) json(
                        "{\"channel\":\"location:wh-7\",\"epoch\":\"e1\",\"offset\":44,\"delta\":true}")),
                new ServerFrame.Error(3, ErrorCode.FORBIDDEN, "user:bob is not yours"),
                new ServerFrame.Error(0, ErrorCode.BAD_REQUEST, "malformed JSON"),
                new ServerFrame.Disconnect(4003, "token expired", true));
    }

    @ParameterizedTest
    @MethodSource("serverFrames")
    void serverFramesSurviveARoundTrip(ServerFrame frame) {
        assertEquals(frame, CODEC.decodeServer(CODEC.encode(frame)));
    }

    @Test
    void eventFrameCarriesTheDocumentedFieldNames() {
        var event = new ServerFrame.Event("location:wh-7", Optional.of(new Position("e1", 42)), "stock.updated",
                "ev-1", Instant.parse("2026-11-22T10:00:00Z"), Optional.empty(), json("{\"qty\":7}"));
        JsonNode wire = json(CODEC.encode(event));
        assertEquals("event", wire.get("op").asText());
        assertEquals("location:wh-7", wire.get("channel").asText());
        assertEquals("e1", wire.get("epoch").asText());
        assertEquals(42, wire.get("offset").asLong());
        assertEquals("stock.updated", wire.get("type").asText());
        assertEquals("ev-1", wire.get("eventId").asText());
        assertEquals(Instant.parse("2026-11-22T10:00:00Z").toEpochMilli(), wire.get("ts").asLong());
        assertEquals(7, wire.get("data").get("qty").asInt());
    }

    @Test
    void eventFrameLeavesOutWhatIsEmpty() {
        var event = new ServerFrame.Event("tenant", Optional.of(new Position("e1", 3)), "t", Optional.empty(),
                Instant.ofEpochMilli(1_765_000_000_123L), Optional.empty(), json("{\"a\":1}"), ServerFrame.Event.Form.PAYLOAD);
        assertEquals("{\"op\":\"event\",\"channel\":\"tenant\",\"epoch\":\"e1\",\"offset\":3,\"type\":\"t\","
                + "\"ts\":1765000000123,\"data\":{\"a\":1}}", CODEC.encode(event));
        assertEquals(event, CODEC.decodeServer(CODEC.encode(event)));
    }

    @Test
    void deltaEventsCarryTheirDataAsAStringAndSayWhichFormItIs() {
        var whole = new ServerFrame.Event("tenant", Optional.of(new Position("e1", 3)), "t", Optional.empty(),
                Instant.ofEpochMilli(5), Optional.empty(), TextNode.valueOf("{\"a\":1}"), ServerFrame.Event.Form.TEXT);
        JsonNode wire = json(CODEC.encode(whole));
        assertFalse(wire.get("delta").asBoolean());
        assertEquals("{\"a\":1}", wire.get("data").textValue());
        assertEquals(whole, CODEC.decodeServer(CODEC.encode(whole)));
        var delta = whole.with(ServerFrame.Event.Form.FOSSIL, TextNode.valueOf("7\n3@0,1:2}2N3Jz;"));
        assertTrue(json(CODEC.encode(delta)).get("delta").asBoolean());
        assertEquals(delta, CODEC.decodeServer(CODEC.encode(delta)));
        assertThrows(ProtocolException.class, () -> CODEC.decodeServer(
                "{\"op\":\"event\",\"channel\":\"c\",\"epoch\":\"e\",\"offset\":1,\"type\":\"t\",\"ts\":1,\"delta\":true,\"data\":{}}"),
                "a delta that is not a string");
    }

    @Test
    void subscribeCarriesTheDeltaFormatAskedFor() {
        var s = new ClientFrame.Subscribe(4, "location:wh-1", Optional.empty(), false, false, Optional.of("fossil"));
        assertEquals("fossil", json(CODEC.encode(s)).get("delta").asText());
        assertEquals(s, CODEC.decodeClient(CODEC.encode(s)));
    }

    @Test
    void replyBodyTravelsAtTheTopLevelAndCannotOverrideOpOrId() {
        var body = CODEC.object().put("result", "applied").put("version", 13).put("op", "event").put("id", 99);
        JsonNode wire = json(CODEC.encode(new ServerFrame.Reply(2, body)));
        assertEquals("reply", wire.get("op").asText());
        assertEquals(2, wire.get("id").asLong());
        assertEquals("applied", wire.get("result").asText());
        assertEquals(13, wire.get("version").asInt());
    }

    @Test
    void decodesTheDesignExampleSubscribe() {
        var frame = CODEC.decodeClient(
                "{\"op\":\"subscribe\",\"id\":1,\"channel\":\"location:wh-7\",\"since\":{\"epoch\":\"e1\",\"offset\":41}}");
        assertEquals(new ClientFrame.Subscribe(1, "location:wh-7", Optional.of(new Position("e1", 41)), false), frame);
    }

    @Test
    void ignoresFieldsTheContractDoesNotKnow() {
        var frame = CODEC.decodeClient("{\"op\":\"ping\",\"id\":5,\"future\":{\"x\":1}}");
        assertEquals(new ClientFrame.Ping(5), frame);
    }

    static Stream<Arguments> malformedFrames() {
        return Stream.of(
                Arguments.of("not json at all", 0L, "malformed JSON"),
                Arguments.of("{\"op\":\"ping\"", 0L, "malformed JSON"),
                Arguments.of("[1,2,3]", 0L, "one JSON object"),
                Arguments.of("\"subscribe\"", 0L, "one JSON object"),
                Arguments.of("", 0L, "one JSON object"),
                Arguments.of("{\"id\":1}", 1L, "missing field 'op'"),
                Arguments.of("{\"op\":42,\"id\":2}", 2L, "field 'op' must be a string"),
                Arguments.of("{\"op\":\"teleport\",\"id\":3}", 3L, "unknown op 'teleport'"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":4}", 4L, "missing field 'channel'"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":5,\"channel\":7}", 5L, "field 'channel' must be a string"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":6,\"channel\":\"tenant\",\"since\":5}", 6L,
                        "field 'since' must be an object"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":7,\"channel\":\"tenant\",\"since\":{\"epoch\":\"e\",\"offset\":-1}}",
                        7L, "field 'offset' must be a non-negative integer"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":8,\"channel\":\"tenant\",\"since\":{\"epoch\":\"e\",\"offset\":\"4\"}}",
                        8L, "field 'offset' must be a non-negative integer"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":9,\"channel\":\"tenant\",\"presence\":\"yes\"}", 9L,
                        "field 'presence' must be a boolean"),
                Arguments.of("{\"op\":\"publish\",\"id\":10,\"channel\":\"tenant\",\"type\":\"x\"}", 10L,
                        "missing field 'data'"),
                Arguments.of("{\"op\":\"doc.update\",\"id\":11,\"docType\":\"t\",\"docId\":\"1\",\"baseVersion\":1,\"opId\":\"o\"}",
                        11L, "exactly one of 'data' or 'patch'"),
                Arguments.of("{\"op\":\"doc.update\",\"id\":12,\"docType\":\"t\",\"docId\":\"1\",\"baseVersion\":1.5,\"opId\":\"o\",\"data\":{}}",
                        12L, "field 'baseVersion' must be a non-negative integer"),
                Arguments.of("{\"op\":\"sync\",\"id\":13,\"ops\":{}}", 13L, "field 'ops' must be an array"),
                Arguments.of("{\"op\":\"sync\",\"id\":14,\"ops\":[{\"docType\":\"t\"}]}", 14L, "ops[0]: "),
                Arguments.of("{\"op\":\"ping\",\"id\":-1}", 0L, "field 'id' must be a positive integer"),
                Arguments.of("{\"op\":\"ping\",\"id\":\"7\"}", 0L, "field 'id' must be a positive integer"),
                Arguments.of("{\"op\":\"ping\",\"id\":1.5}", 0L, "field 'id' must be a positive integer"),
                Arguments.of("{\"op\":\"ping\",\"id\":9007199254740993}", 0L, "field 'id' must be a positive integer"),
                Arguments.of("{\"op\":\"ack\",\"id\":15,\"channel\":\"user:me\"}", 15L, "missing field 'offset'"),
                Arguments.of("{\"op\":\"connect\",\"id\":16,\"token\":null}", 16L, "missing field 'token'"),
                Arguments.of("{\"op\":\"presence\",\"id\":17,\"channel\":\"w:1\",\"state\":\"away\"}", 17L,
                        "field 'state' must be an object"),
                Arguments.of("{\"op\":\"presence\",\"id\":18,\"channel\":\"w:1\",\"state\":[1]}", 18L,
                        "field 'state' must be an object"),
                Arguments.of("{\"op\":\"subscribe\",\"id\":19,\"channel\":\"doc:t:1\",\"snapshot\":1}", 19L,
                        "field 'snapshot' must be a boolean"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":20,\"docType\":\"t\"}", 20L, "missing field 'where'"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":21,\"docType\":\"t\",\"where\":{}}", 21L,
                        "exactly one field"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":22,\"docType\":\"t\",\"where\":{\"a\":1,\"b\":2}}", 22L,
                        "exactly one field"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":23,\"docType\":\"t\",\"where\":{\"a\":{\"b\":1}}}", 23L,
                        "must be a string, number or boolean"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":24,\"docType\":\"t\",\"where\":{\"a\":null}}", 24L,
                        "must be a string, number or boolean"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":25,\"docType\":\"t\",\"where\":{\"a\":1},\"limit\":501}",
                        25L, "field 'limit' must be 1-500"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":26,\"docType\":\"t\",\"where\":{\"a\":1},\"limit\":0}",
                        26L, "field 'limit' must be 1-500"),
                Arguments.of("{\"op\":\"doc.query\",\"id\":27,\"docType\":\"t\",\"where\":{\"a\":1},\"after\":3}",
                        27L, "field 'after' must be a string"),
                Arguments.of("{\"op\":\"ping\",\"op\":\"publish\",\"id\":28}", 0L, "malformed JSON"));
    }

    @Test
    void aDocQueryWithoutLimitGetsTheDefaultPage() {
        var q = (ClientFrame.DocQuery) CODEC.decodeClient(
                "{\"op\":\"doc.query\",\"id\":1,\"docType\":\"stock_level\",\"where\":{\"locationId\":\"wh-7\"}}");
        assertEquals(new ClientFrame.DocQuery(1, "stock_level", "locationId", json("\"wh-7\""), 100, Optional.empty()), q);
    }

    @Test
    void syncOpsDecodeFromABodyAsFromAFrame() {
        JsonNode ops = json("[{\"docType\":\"t\",\"docId\":\"1\",\"baseVersion\":0,\"opId\":\"c:1\",\"data\":{\"a\":1}}]");
        var viaFrame = (ClientFrame.Sync) CODEC.decodeClient("{\"op\":\"sync\",\"ops\":" + ops + "}");
        assertEquals(viaFrame.ops(), CODEC.decodeSyncOps(ops));
        ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.decodeSyncOps(json("{}")));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertThrows(ProtocolException.class, () -> CODEC.decodeSyncOps(null));
    }

    static Stream<Arguments> peekedIds() {
        return Stream.of(
                Arguments.of("{\"op\":\"ping\",\"id\":42}", 42L),
                Arguments.of("{\"id\":7,\"op\":\"ping\"}", 7L),
                Arguments.of("{\"op\":\"publish\",\"data\":{\"id\":5,\"x\":[{\"id\":6}]},\"id\":9}", 9L),
                Arguments.of("{\"op\":\"publish\",\"data\":{\"id\":5}}", 0L),
                Arguments.of("{\"op\":\"ping\",\"id\":\"7\"}", 0L),
                Arguments.of("{\"op\":\"ping\",\"id\":-3}", 0L),
                Arguments.of("{\"op\":\"ping\",\"id\":1.5}", 0L),
                Arguments.of("{\"op\":\"ping\",\"id\":99999999999999999999999}", 0L),
                Arguments.of("{\"op\":\"ping\",\"id\":9007199254740992}", 0L),
                Arguments.of("[1,2]", 0L),
                Arguments.of("{broken", 0L),
                Arguments.of("{\"op\":\"ping\",\"op\":\"publish\",\"id\":4}", 4L),
                Arguments.of("{\"op\":\"ping\",\"id\":5,\"oops", 5L),
                Arguments.of("", 0L),
                Arguments.of("{\"op\":\"ping\",\"pad\":\"" + "x".repeat(60_000) + "\",\"id\":3}", 3L));
    }

    @ParameterizedTest
    @MethodSource("peekedIds")
    void peeksTheIdOfAFrameWithoutDecodingIt(String text, long id) {
        assertEquals(id, CODEC.peekId(text));
    }

    @ParameterizedTest
    @MethodSource("malformedFrames")
    void malformedFramesAreBadRequestsThatKeepTheirId(String text, long expectedId, String messagePart) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.decodeClient(text));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals(expectedId, e.requestId());
        assertTrue(e.getMessage().contains(messagePart), () -> "message was: " + e.getMessage());
    }

    @Test
    void refusesDeeplyNestedPayloadsWithoutRecursingIntoThem() {
        String deep = "[".repeat(5_000) + "]".repeat(5_000);
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> CODEC.decodeClient("{\"op\":\"publish\",\"id\":1,\"channel\":\"tenant\",\"type\":\"x\",\"data\":" + deep + "}"));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
    }

    @Test
    void textAfterTheFrameIsMalformed() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> CODEC.decodeClient("{\"op\":\"ping\",\"id\":4}garbage"));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertTrue(e.getMessage().startsWith("malformed JSON"), e.getMessage());
        e = assertThrows(ProtocolException.class, () -> CODEC.decodeClient("{\"op\":\"ping\"} {\"op\":\"ping\"}"));
        assertTrue(e.getMessage().contains("text after the JSON value"), e.getMessage());
        assertThrows(ProtocolException.class, () -> CODEC.parse("[1] 2"));
    }

    @Test
    void aNumberNoDoubleCanHoldIsRefusedNotTurnedIntoInfinity() {
        for (String n : List.of("1e400", "-1e400", "1E+999")) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.decodeClient(
                    "{\"op\":\"publish\",\"id\":1,\"channel\":\"tenant\",\"type\":\"t\",\"data\":{\"x\":" + n + "}}"));
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
            assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        }
        assertEquals(1.5e300, CODEC.parse("1.5e300").doubleValue());
    }

    @Test
    void malformedJsonIsDescribedWithoutTheParsersAdviceOnItsOwnFeatures() {
        for (String text : List.of("{'op':'ping'}", "{\"op\":NaN}", "{\"op\":\"ping\" /* c */}", "{op:1}",
                "{\"a\":\"x\ny\"}", "{\"op\":\"ping\"}\u0000")) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.decodeClient(text));
            assertEquals(ErrorCode.BAD_REQUEST, e.code(), text);
            assertTrue(e.getMessage().startsWith("malformed JSON"), e.getMessage());
            assertFalse(e.getMessage().contains("Feature"), e.getMessage());
            assertFalse(e.getMessage().contains("enable"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void bytesAreParsedOnlyWhenTheyAreStrictUtf8() {
        byte[] overlong = {'{', '"', 't', '"', ':', '"', 'g', 'l', 'o', (byte) 0xC1, (byte) 0xA2, 'e', 'x', '"', '}'};
        ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.parse(overlong));
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
        assertEquals("glöbex", CODEC.parse("{\"t\":\"glöbex\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .get("t").textValue());
    }

    @Test
    void anEchoedValueIsQuotedEscapedAndBounded() {
        assertEquals("\"a\\\"b\\\\c\\u000a\"", Echo.quoted("a\"b\\c\n"));
        String echoed = Echo.quoted("x".repeat(100_000));
        assertTrue(echoed.length() < Echo.DEFAULT_MAX + 4, echoed);
        assertTrue(echoed.endsWith("…"));
    }

    @Test
    void tokensNeverAppearInToString() {
        assertFalse(new ClientFrame.Connect(1, "secret-token").toString().contains("secret-token"));
        assertFalse(new ClientFrame.Refresh(1, "secret-token").toString().contains("secret-token"));
    }

    @Test
    void errorCodesHaveStableWireNames() {
        assertEquals("bad_request", ErrorCode.BAD_REQUEST.wire());
        assertEquals("unknown_channel", ErrorCode.UNKNOWN_CHANNEL.wire());
        assertEquals("rate_limited", ErrorCode.RATE_LIMITED.wire());
        assertEquals("too_large", ErrorCode.TOO_LARGE.wire());
        assertEquals(Optional.of(ErrorCode.FORBIDDEN), ErrorCode.fromWire("forbidden"));
        assertEquals(Optional.empty(), ErrorCode.fromWire("nope"));
    }

    @Test
    void closeCodesCarryTheirReconnectAdvice() {
        assertEquals(4003, CloseCode.TOKEN_EXPIRED.code());
        assertTrue(CloseCode.TOKEN_EXPIRED.reconnect());
        assertFalse(CloseCode.UNAUTHORIZED.reconnect());
        assertTrue(CloseCode.SERVICE_RESTART.reconnect());
        assertEquals(1012, CloseCode.SERVICE_RESTART.code());
        for (CloseCode c : CloseCode.values()) {
            assertTrue(c.reason().getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 123);
        }
    }
}
