package dev.tandem.gateway;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import dev.tandem.delta.Fossil;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Delta subscriptions are the same on both transports: a WebSocket {@code subscribe} with
 * {@code "delta": "fossil"} and an event stream opened with {@code delta=fossil} get the same
 * answer ({@code delta: true}, or {@code false} where the namespace has no deltas), the same
 * events (the first whole, then Fossil deltas that rebuild every payload byte for byte), and the
 * same resumption (a {@code since} on the socket, a {@code Last-Event-ID} on the stream: what is
 * replayed comes whole, then deltas go on from the last replayed payload).
 */
class DeltaParityTest {
    private static TestGateway node;

    /** The transports. */
    enum Kind { WEBSOCKET, SSE }

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.channels.namespaces.workspace.delta", "[]"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static String tenant() {
        return "dp" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
    }

    private static String token(String user, String tenant) {
        return TestGateway.token(user, tenant, Map.of("workspaces", List.of("*")), Duration.ofHours(1));
    }

    /** One subscription with deltas asked for, whatever the transport. */
    private interface Sub extends AutoCloseable {
        /** The subscribe's answer: the WebSocket reply, or the stream's {@code subscribed} event. */
        JsonNode answer();

        /** The next event of the subscription. */
        JsonNode event() throws Exception;

        /** No event within the time. */
        boolean quiet(Duration d) throws Exception;

        /** What the client resumes with: the last event's position (socket) or id (stream). */
        String resumeFrom();

        @Override
        void close();
    }

    /** Subscribes to one channel asking for deltas; with {@code resume}, from where an earlier one left off. */
    private static Sub subscribe(Kind kind, String token, String channel, Optional<String> resume) throws Exception {
        return switch (kind) {
            case WEBSOCKET -> new Ws(token, channel, resume);
            case SSE -> new Sse(token, channel, resume);
        };
    }

    private static final class Ws implements Sub {
        private final WsProbe probe;
        private final JsonNode answer;
        private JsonNode last;

        Ws(String token, String channel, Optional<String> since) throws Exception {
            probe = ContractProbes.connect(node.ws(), token);
            answer = probe.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"" + channel + "\",\"delta\":\"fossil\""
                    + since.map(s -> ",\"since\":" + s).orElse("") + "}");
            assertEquals("reply", answer.path("op").asText(), answer.toString());
        }

        @Override
        public JsonNode answer() {
            return answer;
        }

        @Override
        public JsonNode event() throws Exception {
            last = probe.expect(f -> f.path("op").asText().equals("event"));
            return last;
        }

        @Override
        public boolean quiet(Duration d) throws Exception {
            return probe.poll(d) == null;
        }

        @Override
        public String resumeFrom() {
            return "{\"epoch\":\"" + last.path("epoch").asText() + "\",\"offset\":" + last.path("offset").asLong() + "}";
        }

        @Override
        public void close() {
            probe.close();
        }
    }

    private static final class Sse implements Sub {
        private final SseClient stream;
        private final JsonNode answer;

        Sse(String token, String channel, Optional<String> lastEventId) throws Exception {
            stream = SseClient.open(node.http() + "/sse?delta=fossil&channel="
                    + URLEncoder.encode(channel, StandardCharsets.UTF_8), token, lastEventId);
            assertEquals(200, stream.status);
            stream.next("welcome");
            answer = stream.next("subscribed").data();
        }

        @Override
        public JsonNode answer() {
            return answer;
        }

        @Override
        public JsonNode event() throws Exception {
            return stream.next("event").data();
        }

        @Override
        public boolean quiet(Duration d) throws Exception {
            return stream.poll(d) == null;
        }

        @Override
        public String resumeFrom() {
            return stream.lastId();
        }

        @Override
        public void close() {
            stream.close();
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aDeltaSubscriberRebuildsEveryPayloadFromOneWholeThenDeltas(Kind kind) throws Exception {
        String t = tenant();
        try (Sub s = subscribe(kind, token("dora", t), "tenant", Optional.empty())) {
            assertTrue(s.answer().path("delta").asBoolean(), "tenant allows deltas: " + s.answer());
            int n = 12;
            for (int i = 0; i < n; i++) {
                node.publish(t, "tenant", "stock.updated", DeltaFrames.stock(i));
            }
            String held = null;
            for (int i = 0; i < n; i++) {
                JsonNode e = s.event();
                assertEquals(i + 1, e.path("offset").asLong());
                assertEquals(i > 0, e.path("delta").asBoolean(), (i == 0 ? "the first event is whole, "
                        : "every later one a delta, ") + e);
                held = DeltaFrames.apply(held, e);
                assertEquals(DeltaFrames.stock(i), held, "payload " + (i + 1) + " rebuilt byte for byte");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aNamespaceWithoutDeltasAnswersDeltaFalseAndSendsPlainEvents(Kind kind) throws Exception {
        String t = tenant();
        try (Sub s = subscribe(kind, token("nils", t), "workspace:w-1", Optional.empty())) {
            assertFalse(s.answer().path("delta").asBoolean(true), "said, and false: " + s.answer());
            node.publish(t, "workspace:w-1", "note", "{\"n\":1}");
            JsonNode e = s.event();
            assertFalse(e.has("delta"), e.toString());
            assertEquals(1, e.path("data").path("n").asInt(), "the payload itself: " + e);
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aResumedSubscriptionGetsTheMissedEventsWholeThenDeltasFromTheLastOfThem(Kind kind) throws Exception {
        String t = tenant();
        // another delta subscriber keeps the channel's last payload on the node while the first is away
        try (Sub watcher = subscribe(kind, token("walt", t), "tenant", Optional.empty())) {
            String resume;
            try (Sub s = subscribe(kind, token("rita", t), "tenant", Optional.empty())) {
                for (int i = 0; i < 3; i++) {
                    node.publish(t, "tenant", "stock.updated", DeltaFrames.stock(i));
                }
                for (int i = 0; i < 3; i++) {
                    s.event();
                }
                resume = s.resumeFrom();
            }
            for (int i = 3; i < 6; i++) {
                node.publish(t, "tenant", "stock.updated", DeltaFrames.stock(i));
            }
            try (Sub s = subscribe(kind, token("rita", t), "tenant", Optional.of(resume))) {
                assertTrue(s.answer().path("recovered").asBoolean() && s.answer().path("delta").asBoolean(),
                        s.answer().toString());
                String held = null;
                for (int i = 3; i < 6; i++) {
                    JsonNode e = s.event();
                    assertEquals(i + 1, e.path("offset").asLong(), "exactly what was missed, in order");
                    assertFalse(e.path("delta").asBoolean(), "a replayed event is whole: " + e);
                    held = DeltaFrames.apply(held, e);
                    assertEquals(DeltaFrames.stock(i), held);
                }
                node.publish(t, "tenant", "stock.updated", DeltaFrames.stock(6));
                JsonNode live = s.event();
                assertEquals(7, live.path("offset").asLong());
                assertTrue(live.path("delta").asBoolean(), "live after the replay: a delta against offset 6: " + live);
                assertEquals(DeltaFrames.stock(6), DeltaFrames.apply(held, live));
                assertTrue(s.quiet(Duration.ofMillis(200)), "nothing twice");
            }
            assertTrue(watcher.answer().path("delta").asBoolean());
        }
    }
}
