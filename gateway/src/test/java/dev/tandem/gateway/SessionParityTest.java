package dev.tandem.gateway;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A WebSocket and a Server-Sent Events stream are the same connection runtime: each case runs
 * over both transports and expects the same outcome, with the close code a socket gets as the
 * {@code disconnect} event a stream gets. What a stream's client sends goes through
 * {@code POST /sse/send?session=ID} (the stream's session) unless a case says otherwise.
 */
class SessionParityTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The transports. */
    enum Kind { WEBSOCKET, SSE }

    private static String tenant() {
        return "par" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
    }

    private static String token(String user, String tenant, Duration ttl) {
        return TestGateway.token(user, tenant, Map.of(), ttl);
    }

    private static String token(String user, String tenant) {
        return token(user, tenant, Duration.ofHours(1));
    }

    /** One client connection as the cases drive it, whatever the transport. */
    private interface Conn extends AutoCloseable {
        /** Sends one client frame that carries {@code id} and returns its answer ({@code reply} or {@code error}). */
        JsonNode send(long id, String frame) throws Exception;

        /** Waits until the server ends the connection; the code of its {@code disconnect}. */
        int ended() throws Exception;

        /** Waits for the welcome. */
        JsonNode welcome() throws Exception;

        @Override
        void close();
    }

    private static Conn open(Kind kind, TestGateway node, String token, String... channels) throws Exception {
        return switch (kind) {
            case WEBSOCKET -> new Ws(node, token, channels);
            case SSE -> new Sse(node, token, channels);
        };
    }

    /**
     * A WebSocket that brings its token in the upgrade (as a stream brings it in its request: no
     * connect frame to count against the rate) and subscribes to the channels.
     */
    private static final class Ws implements Conn {
        private final WsProbe probe;
        private final List<String> channels;
        private JsonNode welcome;

        Ws(TestGateway node, String token, String... channels) throws Exception {
            this.probe = ContractProbes.open(node.ws(), Map.of("Authorization", "Bearer " + token));
            this.channels = List.of(channels);
        }

        @Override
        public JsonNode welcome() throws Exception {
            if (welcome == null) {
                welcome = probe.expect(f -> f.path("op").asText().equals("welcome"));
                long id = 1_000_000;
                for (String channel : channels) {
                    JsonNode r = probe.request(id, "{\"op\":\"subscribe\",\"id\":" + id + ",\"channel\":\"" + channel + "\"}");
                    assertEquals("reply", r.path("op").asText(), r.toString());
                    id++;
                }
            }
            return welcome;
        }

        @Override
        public JsonNode send(long id, String frame) throws Exception {
            welcome();
            probe.sendInvalid(frame);
            return probe.answer(id);
        }

        @Override
        public int ended() throws Exception {
            int code = probe.expect(f -> f.path("op").asText().equals("disconnect")).path("code").asInt();
            assertEquals(code, probe.closeCode(), "the close code is the disconnect's");
            return code;
        }

        @Override
        public void close() {
            probe.close();
        }
    }

    /** An event stream naming its channels in its URL; what it sends is POSTed naming its session. */
    private static final class Sse implements Conn {
        private final TestGateway node;
        private final String token;
        private final SseClient stream;
        private JsonNode welcome;

        Sse(TestGateway node, String token, String... channels) throws Exception {
            this.node = node;
            this.token = token;
            StringBuilder url = new StringBuilder(node.http()).append("/sse");
            for (int i = 0; i < channels.length; i++) {
                url.append(i == 0 ? '?' : '&').append("channel=").append(URLEncoder.encode(channels[i], StandardCharsets.UTF_8));
            }
            this.stream = SseClient.open(url.toString(), token, Optional.empty());
            assertEquals(200, stream.status);
        }

        @Override
        public JsonNode welcome() throws Exception {
            if (welcome == null) {
                welcome = stream.next("welcome").data();
            }
            return welcome;
        }

        @Override
        public JsonNode send(long id, String frame) throws Exception {
            String session = welcome().path("session").asText();
            HttpResponse<String> res = node.postInvalid("/sse/send?session=" + session, token, frame);
            JsonNode answer = JSON.readTree(res.body());
            assertEquals(answer.path("id").asLong(), id, res.body());
            int expected = answer.path("op").asText().equals("error")
                    ? dev.tandem.protocol.ErrorCode.fromWire(answer.path("code").asText()).orElseThrow().httpStatus() : 200;
            assertEquals(expected, res.statusCode(), "the error code's HTTP status: " + res.body());
            return answer;
        }

        @Override
        public int ended() throws Exception {
            int code = stream.next("disconnect").data().path("code").asInt();
            stream.ended.get(5, TimeUnit.SECONDS);
            return code;
        }

        @Override
        public void close() {
            stream.close();
        }
    }

    private static String ping(long id) {
        return "{\"op\":\"ping\",\"id\":" + id + "}";
    }

    private static String code(JsonNode answer) {
        return answer.path("op").asText().equals("error") ? answer.path("code").asText() : "ok";
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aTokenThatExpiresEndsTheConnectionOnTimeWith4003(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start()) {
            long start = System.nanoTime();
            try (Conn c = open(kind, node, token("eve", tenant(), Duration.ofSeconds(2)), "tenant")) {
                String expiresAt = c.welcome().path("expiresAt").asText();
                assertEquals(4003, c.ended());
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                long late = System.currentTimeMillis() - java.time.Instant.parse(expiresAt).toEpochMilli();
                assertTrue(late >= 0 && late < 1500, "closed within the sweep's second of the expiry, "
                        + late + " ms after it (" + millis + " ms after opening)");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aFrameOverTheSizeLimitIsRefusedAndEndsTheConnectionWith1009(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.max-frame-bytes", "2048"))) {
            try (Conn c = open(kind, node, token("tom", tenant()), "doc:note:n-1")) {
                assertEquals("ok", code(c.send(2, "{\"op\":\"publish\",\"id\":2,\"channel\":\"doc:note:n-1\",\"type\":\"x\","
                        + "\"ephemeral\":true,\"data\":{\"t\":\"" + "a".repeat(1800) + "\"}}")), "a frame within the limit");
                String big = "{\"op\":\"publish\",\"id\":3,\"channel\":\"doc:note:n-1\",\"type\":\"x\",\"ephemeral\":true,"
                        + "\"data\":{\"t\":\"" + "a".repeat(3000) + "\"}}";
                if (kind == Kind.WEBSOCKET) {
                    ((Ws) c).probe.sendInvalid(big);
                } else {
                    assertEquals("too_large", code(c.send(3, big)));
                }
                assertEquals(1009, c.ended());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void messagesOverTheRateAreRateLimitedAndAFloodEndsTheConnectionWith4008(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.messages-per-second", "1",
                "tandem.limits.burst", "3", "tandem.limits.flood-strikes", "4"))) {
            try (Conn c = open(kind, node, token("rob", tenant()))) {
                c.welcome();
                List<String> answers = new ArrayList<>();
                for (int i = 2; i <= 5; i++) {
                    answers.add(code(c.send(i, ping(i))));
                }
                assertEquals(List.of("ok", "ok", "ok", "rate_limited"), answers);
                for (int i = 6; i <= 8; i++) {
                    c.send(i, ping(i));
                }
                assertEquals(4008, c.ended(), "four refusals in a row: a flood");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void typingSignalsOverTheirRateAreRateLimited(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.ephemeral-per-second", "2"))) {
            try (Conn c = open(kind, node, token("tia", tenant()), "doc:note:n-1")) {
                List<String> answers = new ArrayList<>();
                for (int i = 2; i <= 4; i++) {
                    JsonNode a = c.send(i, "{\"op\":\"publish\",\"id\":" + i + ",\"channel\":\"doc:note:n-1\","
                            + "\"type\":\"typing\",\"ephemeral\":true,\"data\":{}}");
                    answers.add(code(a));
                    if (a.path("code").asText().equals("rate_limited")) {
                        assertTrue(a.path("message").asText().contains("typing/cursor"), a.toString());
                    }
                }
                assertEquals(List.of("ok", "ok", "rate_limited"), answers);
                assertEquals("ok", code(c.send(5, ping(5))), "other messages are not typing signals");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void theUsersRateOnTheNodeCountsEveryConnection(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.user-messages-per-second", "1",
                "tandem.limits.user-burst", "3"))) {
            String t = tenant();
            try (Conn a = open(kind, node, token("uli", t)); Conn b = open(kind, node, token("uli", t))) {
                List<String> answers = new ArrayList<>();
                answers.add(code(a.send(2, ping(2))));
                answers.add(code(b.send(3, ping(3))));
                answers.add(code(a.send(4, ping(4))));
                JsonNode over = b.send(5, ping(5));
                answers.add(code(over));
                assertEquals(List.of("ok", "ok", "ok", "rate_limited"), answers);
                assertTrue(over.path("message").asText().contains("from user uli"), over.toString());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void connectionsPerAddressAreCappedOverBothTransportsTogether(Kind kind) throws Exception {
        // a stream its client left is noticed at the next write: the keep-alive, here every half second
        try (TestGateway node = TestGateway.start(Map.of("tandem.connections-per-address", "2",
                "tandem.limits.heartbeat-interval", "PT0.5S"))) {
            String t = tenant();
            try (Conn ws = open(Kind.WEBSOCKET, node, token("a", t)); Conn sse = open(Kind.SSE, node, token("b", t))) {
                ws.welcome();
                sse.welcome();
                try (Conn third = open(kind, node, token("c", t))) {
                    assertEquals(4029, third.ended());
                }
            }
            LimitsTest.waitFor(() -> node.gateway.engine().connectionsFrom("127.0.0.1") == 0);
            try (Conn again = open(kind, node, token("d", t))) {
                again.welcome();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void theConnectHookIsAskedOncePerConnectionNotPerMessage(Kind kind) throws Exception {
        try (FakeBackend backend = new FakeBackend()) {
            Map<String, String> config = new HashMap<>(Map.of("tandem.hooks.secret", FakeBackend.SECRET,
                    "tandem.hooks.connect.url", backend.url("/connect")));
            // the hook adds a role that only then lets the user publish on the channel
            backend.on("/connect", body -> FakeBackend.Answer.json("{\"result\":\"allow\",\"roles\":[\"typist\"]}"));
            config.put("tandem.channels.namespaces.typed.publish", "role:typist");
            config.put("tandem.channels.namespaces.typed.subscribe", "any");
            config.put("tandem.channels.namespaces.typed.segments", "1");
            try (TestGateway node = TestGateway.start(config)) {
                String t = tenant();
                String token = token("hal", t);
                try (Conn c = open(kind, node, token, "typed:room")) {
                    c.welcome();
                    for (int i = 2; i <= 4; i++) {
                        assertEquals("ok", code(c.send(i, "{\"op\":\"publish\",\"id\":" + i
                                + ",\"channel\":\"typed:room\",\"type\":\"said\",\"data\":{}}")), "the hook's role applies");
                    }
                    assertEquals(1, calls(backend, "/connect"), "one connection, one connect hook call");
                    if (kind == Kind.SSE) {
                        // POSTs that do not name the stream's session (their stream on another node):
                        // the hook's answer for the token is asked once on this node, not per POST
                        for (int i = 5; i <= 7; i++) {
                            HttpResponse<String> r = node.post("/sse/send", token, "{\"op\":\"publish\",\"id\":" + i
                                    + ",\"channel\":\"typed:room\",\"type\":\"said\",\"data\":{}}");
                            assertEquals(200, r.statusCode(), r.body());
                        }
                        assertEquals(1, calls(backend, "/connect"), "the token's admission is kept on the node");
                    }
                }
            }
        }
    }

    private static int calls(FakeBackend backend, String path) throws InterruptedException {
        Thread.sleep(100);
        return (int) backend.calls.stream().filter(c -> c.path().equals(path)).count();
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aRevokedUserIsDisconnectedWith4004(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start()) {
            String t = tenant();
            try (Conn c = open(kind, node, token("ron", t), "tenant")) {
                c.welcome();
                HttpResponse<String> r = node.post("/api/v1/revocations", TestGateway.token("ops", t, "service"),
                        "{\"user\":\"ron\",\"issuedBefore\":\"" + java.time.Instant.now().plusSeconds(5) + "\"}");
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(4004, c.ended());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aConnectionSubscribedToNothingIsClosedIdleWith4011(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.idle-timeout", "PT1S"))) {
            String t = tenant();
            try (Conn idle = open(kind, node, token("ida", t)); Conn busy = open(kind, node, token("bo", t), "tenant")) {
                idle.welcome();
                busy.welcome();
                long start = System.nanoTime();
                assertEquals(4011, idle.ended());
                assertTrue(System.nanoTime() - start < 3_000_000_000L, "within the timeout and a sweep");
                assertEquals("ok", code(busy.send(2, ping(2))), "a subscribed connection stays");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void framesAboutTheConnectionAreAnsweredAlike(Kind kind) throws Exception {
        try (TestGateway node = TestGateway.start()) {
            try (Conn c = open(kind, node, token("fay", tenant()), "doc:note:n-1")) {
                c.welcome();
                // joining a presence is a call of its own, after the subscribe's answer
                JsonNode members = null;
                for (int i = 0; i < 50 && (members == null || members.path("members").isEmpty()); i++) {
                    Thread.sleep(i == 0 ? 0 : 50);
                    members = c.send(2 + i, "{\"op\":\"presence\",\"id\":" + (2 + i) + ",\"channel\":\"doc:note:n-1\"}");
                    assertEquals("reply", members.path("op").asText(), members.toString());
                }
                assertEquals("fay", members.path("members").get(0).path("user").asText(), "present through the connection");
                assertEquals("forbidden", code(c.send(99, "{\"op\":\"presence\",\"id\":99,\"channel\":\"user:zed\"}")));
                assertEquals("bad_request", code(c.send(100, "{\"op\":\"presence\",\"id\":100,\"channel\":\"tenant\","
                        + "\"state\":{\"s\":1}}")), "a state needs a connection present on the channel");
            }
        }
    }
}
