package dev.tandem.protocol;

import dev.tandem.contracts.Contracts;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contracts cannot drift from the code: every frame the codec writes (those of
 * {@link FrameCodecTest} and one of every frame type) validates against the AsyncAPI document,
 * the documented error and close codes are exactly the enums, and the validator refuses what the
 * contract does not allow.
 */
class ContractsTest {
    private static final FrameCodec CODEC = FrameCodec.create();
    private static final Contracts CONTRACTS = Contracts.load();

    private static JsonNode json(String s) {
        return CODEC.parse(s);
    }

    /** Realistic server frames of every kind, replies of every request included. */
    static Stream<ServerFrame> moreServerFrames() {
        String doc = "{\"docType\":\"stock_level\",\"docId\":\"A-1@wh-7\",\"version\":13,\"data\":{\"qty\":4},"
                + "\"updatedAt\":\"2026-11-22T10:00:01.500Z\",\"updatedBy\":\"alice\",\"createdBy\":\"alice\",\"deleted\":false}";
        String conflict = "{\"conflictId\":\"cf-1\",\"docType\":\"task\",\"docId\":\"t1\",\"opId\":\"c9:3\",\"author\":\"alice\","
                + "\"baseVersion\":1,\"serverVersion\":2,\"base\":{},\"server\":{\"title\":\"b\"},\"local\":{\"title\":\"a\"},"
                + "\"fields\":[\"title\"],\"status\":\"open\",\"createdAt\":\"2026-11-22T10:00:00Z\"}";
        return Stream.of(
                new ServerFrame.Conflict("cf-1", "user:alice", new Position("e1", 3), json(conflict)),
                new ServerFrame.Presence("workspace:w1", "state", json("{\"user\":\"bob\",\"state\":{\"typing\":true}}")),
                reply(2, "{\"channel\":\"user:alice\",\"epoch\":\"e1\",\"offset\":9,\"inbox\":3}"),
                reply(3, "{\"channel\":\"doc:task:t1\",\"epoch\":\"e1\",\"offset\":0,\"document\":null}"),
                reply(4, "{\"channel\":\"doc:stock_level:A-1@wh-7\",\"epoch\":\"e1\",\"offset\":2,\"document\":" + doc + "}"),
                reply(5, "{\"channel\":\"workspace:w1\",\"epoch\":\"e1\",\"offset\":0,\"presence\":[{\"user\":\"bob\","
                        + "\"connections\":2,\"state\":{},\"lastSeen\":\"2026-11-22T10:00:00Z\"}]}"),
                reply(6, "{\"channel\":\"workspace:w1\",\"eventId\":\"ev-1\",\"epoch\":\"e1\",\"offset\":5}"),
                reply(7, "{\"expiresAt\":\"2026-11-22T11:00:00Z\"}"),
                reply(8, "{\"channel\":\"user:alice\",\"acknowledged\":3,\"remaining\":0}"),
                reply(9, "{\"document\":" + doc + "}"),
                reply(10, "{\"docType\":\"stock_level\",\"documents\":[" + doc + "],\"next\":\"A-1@wh-7\","
                        + "\"channel\":\"location:wh-7\",\"epoch\":\"e1\",\"offset\":4}"),
                reply(11, "{\"docType\":\"stock_level\",\"documents\":[],\"channel\":null}"),
                reply(12, "{\"opId\":\"c9:1\",\"result\":\"applied\",\"version\":2}"),
                reply(13, "{\"results\":[{\"opId\":\"c9:2\",\"result\":\"merged\",\"version\":3,\"strategy\":\"last-write-wins\","
                        + "\"fields\":[\"qty\"]},{\"opId\":\"c9:3\",\"result\":\"conflict\",\"conflictId\":\"cf-1\",\"conflict\":"
                        + conflict + "},{\"opId\":\"c9:4\",\"result\":\"duplicate\",\"version\":3},{\"opId\":\"c9:5\","
                        + "\"result\":\"rejected\",\"code\":\"constraint\",\"reason\":\"qty >= 0\"}]}"),
                reply(14, "{\"result\":\"resolved\",\"conflictId\":\"cf-1\",\"version\":3,\"document\":" + doc
                        + ",\"conflict\":" + conflict.replace("\"open\"", "\"resolved\"") + "}"),
                reply(15, "{}"),
                reply(16, "{\"session\":\"cd8cef900be115c053\"}"),
                reply(17, "{\"channel\":\"tenant\",\"subscribed\":false}"),
                reply(18, "{\"docType\":\"task\",\"documents\":[],\"next\":null,\"channel\":null}"),
                reply(19, "{\"results\":[{\"opId\":\"a:9\",\"result\":\"merged\",\"version\":2,\"strategy\":\"merge\","
                        + "\"fields\":[]}]}"),
                reply(20, "{\"results\":[{\"opId\":\"c9:3\",\"result\":\"conflict\",\"conflictId\":\"cf-1\","
                        + "\"conflict\":" + conflict + "},{\"opId\":\"c9:4\",\"result\":\"held\",\"conflictId\":\"cf-1\"},"
                        + "{\"opId\":\"c9:5\",\"result\":\"rejected\",\"code\":\"stale\",\"reason\":\"its conflict went stale\"}]}"));
    }

    private static ServerFrame.Reply reply(long id, String body) {
        return new ServerFrame.Reply(id, (ObjectNode) json(body));
    }

    static Stream<ServerFrame> allServerFrames() {
        Stream<ServerFrame> codes = Stream.concat(
                Arrays.stream(ErrorCode.values()).map(c -> new ServerFrame.Error(1, c, "m")),
                Arrays.stream(CloseCode.values()).map(c -> ServerFrame.Disconnect.of(c, c.reason())));
        return Stream.concat(Stream.concat(FrameCodecTest.serverFrames(), moreServerFrames()), codes);
    }

    @ParameterizedTest
    @MethodSource("dev.tandem.protocol.FrameCodecTest#clientFrames")
    void everyClientFrameTheCodecWritesConformsToTheAsyncApiDocument(ClientFrame frame) {
        CONTRACTS.assertClientFrame(CODEC.encode(frame));
    }

    @ParameterizedTest
    @MethodSource("allServerFrames")
    void everyServerFrameTheCodecWritesConformsToTheAsyncApiDocument(ServerFrame frame) {
        CONTRACTS.assertServerFrame(CODEC.encode(frame));
    }

    @Test
    void everyFrameTypeHasItsMessageInTheDocumentAndTheTestsCoverEveryType() {
        Set<String> clientOps = FrameCodecTest.clientFrames().map(ClientFrame::op).collect(Collectors.toSet());
        Set<String> serverOps = allServerFrames().map(ServerFrame::op).collect(Collectors.toSet());
        assertEquals(ClientFrame.class.getPermittedSubclasses().length, clientOps.size(), "a client frame type untested");
        assertEquals(ServerFrame.class.getPermittedSubclasses().length, serverOps.size(), "a server frame type untested");
        assertEquals(clientOps, CONTRACTS.clientOps());
        assertEquals(serverOps, CONTRACTS.serverOps());
    }

    @Test
    void theDocumentedErrorAndCloseCodesAreExactlyTheEnums() {
        JsonNode schemas = CONTRACTS.asyncApi().path("components").path("schemas");
        Set<String> errors = new HashSet<>();
        schemas.path("ErrorCode").path("oneOf").forEach(c -> errors.add(c.path("const").asText()));
        assertEquals(Arrays.stream(ErrorCode.values()).map(ErrorCode::wire).collect(Collectors.toSet()), errors);
        Set<Integer> closes = new HashSet<>();
        schemas.path("CloseCode").path("oneOf").forEach(c -> closes.add(c.path("const").asInt()));
        assertEquals(Arrays.stream(CloseCode.values()).map(CloseCode::code).collect(Collectors.toSet()), closes);
        for (CloseCode c : CloseCode.values()) {
            String described = "";
            for (JsonNode d : schemas.path("CloseCode").path("oneOf")) {
                if (d.path("const").asInt() == c.code()) {
                    described = d.path("description").asText();
                }
            }
            assertTrue(described.contains("reconnect: " + (c.reconnect() ? "yes" : "no")), c + ": " + described);
        }
        Set<String> rest = new HashSet<>();
        CONTRACTS.openApi().path("components").path("schemas").path("ErrorCode").path("enum")
                .forEach(c -> rest.add(c.asText()));
        assertEquals(errors, rest, "the REST document lists the same codes");
    }

    @Test
    void framesTheContractDoesNotAllowAreRefused() {
        assertFalse(CONTRACTS.clientFrameErrors("{\"op\":\"subscribe\",\"id\":1}").isEmpty(), "missing channel");
        assertFalse(CONTRACTS.clientFrameErrors("{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\",\"extra\":1}")
                .isEmpty(), "an unlisted field");
        assertFalse(CONTRACTS.clientFrameErrors("{\"op\":\"ack\",\"channel\":\"user:a\",\"offset\":-1}").isEmpty(),
                "a negative offset");
        assertFalse(CONTRACTS.clientFrameErrors("{\"op\":\"doc.update\",\"docType\":\"t\",\"docId\":\"1\",\"baseVersion\":0,"
                + "\"opId\":\"c:1\",\"data\":{},\"patch\":{\"set\":{}}}").isEmpty(), "both data and patch");
        assertFalse(CONTRACTS.clientFrameErrors("{\"op\":\"teleport\"}").isEmpty(), "an unknown op");
        assertFalse(CONTRACTS.serverFrameErrors("{\"op\":\"error\",\"code\":\"oops\",\"message\":\"m\"}").isEmpty(),
                "an undocumented error code");
        assertFalse(CONTRACTS.serverFrameErrors("{\"op\":\"disconnect\",\"code\":4999,\"reason\":\"r\",\"reconnect\":true}")
                .isEmpty(), "an undocumented close code");
        assertFalse(CONTRACTS.serverFrameErrors("{\"op\":\"event\",\"channel\":\"tenant\",\"type\":\"t\",\"eventId\":\"e\","
                + "\"ts\":1765000000000,\"data\":{}}").isEmpty(), "neither a position nor ephemeral");
        assertFalse(CONTRACTS.serverFrameErrors("{\"op\":\"reply\",\"id\":1,\"surprise\":true}").isEmpty(),
                "an undocumented reply field");
        assertFalse(CONTRACTS.serverFrameErrors("not json").isEmpty());
    }

    @Test
    void aStreamCarriesTheServerFramesAClientIsSentUnaskedAndItsSubscribedAnswers() {
        Set<String> unasked = new HashSet<>(CONTRACTS.serverOps());
        unasked.remove("reply"); // a stream's requests are answered by their HTTP responses
        unasked.add("subscribed");
        assertEquals(unasked, CONTRACTS.streamOps());
        assertEquals(List.of(), CONTRACTS.streamFrameErrors("{\"op\":\"subscribed\",\"channel\":\"user:alice\","
                + "\"epoch\":\"e1\",\"offset\":4,\"recovered\":true,\"delta\":false,\"inbox\":2}"));
        assertFalse(CONTRACTS.streamFrameErrors("{\"op\":\"subscribed\",\"channel\":\"tenant\"}").isEmpty(),
                "a subscribed answer without the position");
        assertFalse(CONTRACTS.streamFrameErrors("{\"op\":\"reply\",\"id\":1}").isEmpty(), "a reply on a stream");
        allServerFrames().filter(f -> !(f instanceof ServerFrame.Reply))
                .forEach(f -> assertEquals(List.of(), CONTRACTS.streamFrameErrors(CODEC.encode(f)), f.op()));
    }

    @Test
    void restBodiesAreValidatedAgainstTheOpenApiDocument() {
        CONTRACTS.assertRestRequest("POST", "/api/v1/publish",
                "{\"channel\":\"location:wh-7\",\"type\":\"stock.updated\",\"data\":{\"qty\":7}}");
        CONTRACTS.assertRestRequest("POST", "/api/v1/publish", "{\"channels\":[\"tenant\"],\"type\":\"t\",\"data\":1,"
                + "\"eventId\":\"erp-1\"}");
        CONTRACTS.assertRestResponse("POST", "/api/v1/publish", 200,
                "{\"publications\":[{\"channel\":\"location:wh-7\",\"eventId\":\"ev\",\"epoch\":\"e1\",\"offset\":1}]}");
        CONTRACTS.assertRestRequest("POST", "/api/v1/users/bob/send", "{\"type\":\"note\",\"data\":{\"n\":1}}");
        CONTRACTS.assertRestResponse("GET", "/api/v1/sync-state?user=bob", 200,
                "{\"user\":\"bob\",\"inbox\":{\"depth\":0,\"ttl\":\"PT24H\"},\"openConflicts\":0}");
        CONTRACTS.assertRestResponse("GET", "/api/v1/documents/stock_level?where.locationId=wh-7", 200,
                "{\"docType\":\"stock_level\",\"documents\":[],\"channel\":null}");
        CONTRACTS.assertRestRequest("POST", "/api/v1/sync", "{\"ops\":[{\"docType\":\"t\",\"docId\":\"1\",\"baseVersion\":0,"
                + "\"opId\":\"erp:1\",\"patch\":{\"inc\":{\"qty\":1}}},{\"docType\":\"t\",\"docId\":\"1\","
                + "\"baseVersion\":0,\"opId\":\"erp:2\",\"afterOpId\":\"erp:1\",\"patch\":{\"inc\":{\"qty\":1}}}]}");
        CONTRACTS.assertRestResponse("POST", "/api/v1/sync", 200, "{\"results\":[{\"opId\":\"erp:2\",\"result\":\"held\","
                + "\"conflictId\":\"cf-1\"}]}");
        CONTRACTS.assertRestResponse("POST", "/api/v1/conflicts/cf-1/resolve", 409,
                "{\"code\":\"conflict\",\"message\":\"already resolved\"}");

        assertFalse(CONTRACTS.restRequestErrors("POST", "/api/v1/publish", "{\"type\":\"t\",\"data\":1}").isEmpty(),
                "no channel");
        assertFalse(CONTRACTS.restRequestErrors("POST", "/api/v1/publish", "{\"channel\":\"c\",\"type\":\"t\",\"data\":1,"
                + "\"priority\":1}").isEmpty(), "an unlisted field");
        assertFalse(CONTRACTS.restResponseErrors("POST", "/api/v1/publish", 500, "{\"code\":\"boom\",\"message\":\"m\"}")
                .isEmpty(), "an undocumented error code");
        assertFalse(CONTRACTS.restResponseErrors("POST", "/api/v1/publish", 200, "{}").isEmpty(), "a missing field");
        assertFalse(CONTRACTS.restRequestErrors("DELETE", "/api/v1/publish", null).isEmpty(), "an undocumented operation");
        List<String> ok = CONTRACTS.restResponseErrors("GET", "/api/v1/documents/t/1", 200,
                "{\"document\":{\"docType\":\"t\",\"docId\":\"1\",\"version\":1,\"data\":{}}}");
        assertEquals(List.of(), ok);
    }
}
