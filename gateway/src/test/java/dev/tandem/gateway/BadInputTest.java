package dev.tandem.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every bad-input case over a real socket: a stable error code, the
 * connection (or at least the node) keeps serving, and state is unchanged.
 */
class BadInputTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.limits.max-frame-bytes", "4096",
                "tandem.limits.messages-per-second", "1",
                "tandem.limits.burst", "20",
                "tandem.limits.flood-strikes", "30"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    static Stream<Arguments> badFrames() {
        return Stream.of(
                Arguments.of("{oops", "bad_request", 0),
                Arguments.of("[]", "bad_request", 0),
                Arguments.of("42", "bad_request", 0),
                Arguments.of("{\"id\":5}", "bad_request", 5),
                Arguments.of("{\"op\":\"teleport\",\"id\":6}", "bad_request", 6),
                Arguments.of("{\"op\":\"subscribe\",\"id\":7}", "bad_request", 7),
                Arguments.of("{\"op\":\"subscribe\",\"id\":8,\"channel\":[\"tenant\"]}", "bad_request", 8),
                Arguments.of("{\"op\":\"subscribe\",\"id\":9,\"channel\":\"tenant\",\"since\":\"yesterday\"}", "bad_request", 9),
                Arguments.of("{\"op\":\"publish\",\"id\":10,\"channel\":\"workspace:w\",\"type\":7,\"data\":{}}", "bad_request", 10),
                Arguments.of("{\"op\":\"publish\",\"id\":11,\"channel\":\"tenant\",\"type\":\"x\"}", "bad_request", 11),
                Arguments.of("{\"op\":\"ping\",\"id\":\"twelve\"}", "bad_request", 0),
                Arguments.of("{\"op\":\"subscribe\",\"id\":13,\"channel\":\"mars:1\"}", "unknown_channel", 13),
                Arguments.of("{\"op\":\"subscribe\",\"id\":14,\"channel\":\"user:someone-else\"}", "forbidden", 14),
                Arguments.of("{\"op\":\"doc.get\",\"id\":15,\"docType\":\"task\",\"docId\":\"nope\"}", "not_found", 15),
                Arguments.of("{\"op\":\"connect\",\"id\":16,\"token\":\"x\"}", "bad_request", 16));
    }

    @ParameterizedTest
    @MethodSource("badFrames")
    void aBadFrameGetsItsErrorCodeAndTheConnectionKeepsWorking(String frame, String code, long id) throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            c.sendInvalid(frame);
            JsonNode e = c.expect(f -> f.path("op").asText().equals("error"));
            assertEquals(code, e.path("code").asText());
            assertEquals(id, e.path("id").asLong());
            assertFalse(e.path("message").asText().isBlank());
            // still subscribed, still served
            node.publish("acme", "tenant", "after", "{}");
            assertEquals("after", c.expect(f -> f.path("op").asText().equals("event")).path("type").asText());
            assertEquals("reply", c.request(99, "{\"op\":\"ping\",\"id\":99}").path("op").asText());
        }
    }

    @Test
    void binaryFramesAreRefusedWithBadRequest() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.sendBinary(new byte[] {1, 2, 3});
            assertEquals("bad_request", c.expect(f -> f.path("op").asText().equals("error")).path("code").asText());
            assertEquals("reply", c.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText());
        }
    }

    @Test
    void fragmentedMessagesAreJoinedBeforeDecoding() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.sendFragments("{\"op\":\"pi", "ng\",\"i", "d\":4}");
            assertEquals("reply", c.answer(4).path("op").asText());
        }
    }

    @Test
    void anOversizeMessageClosesWith1009AndOthersAreUnaffected() throws Exception {
        try (WsProbe big = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"));
             WsProbe bystander = ContractProbes.connect(node.ws(), TestGateway.token("bob", "acme"))) {
            bystander.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            String payload = "x".repeat(5000);
            big.send("{\"op\":\"publish\",\"id\":3,\"channel\":\"workspace:w\",\"type\":\"x\",\"data\":\"" + payload + "\"}");
            JsonNode d = big.expect(f -> f.path("op").asText().equals("disconnect"));
            assertEquals(1009, d.path("code").asInt());
            assertEquals(1009, big.closeCode());
            node.publish("acme", "tenant", "still-here", "{}");
            assertEquals("still-here", bystander.expect(f -> f.path("op").asText().equals("event")).path("type").asText());
        }
    }

    @Test
    void anOversizeMessageInFragmentsAlsoClosesWith1009() throws Exception {
        try (WsProbe big = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            String chunk = "y".repeat(1500);
            big.sendFragmentsToBeRefused("{\"op\":\"ping\",\"pad\":\"", chunk, chunk, chunk, "\"}");
            assertEquals(1009, big.closeCode());
        }
    }

    @Test
    void aFloodIsRateLimitedThenClosedWhileOthersKeepBeingServed() throws Exception {
        try (WsProbe flood = ContractProbes.connect(node.ws(), TestGateway.token("mallory", "acme"));
             WsProbe calm = ContractProbes.connect(node.ws(), TestGateway.token("bob", "acme"))) {
            calm.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            for (int i = 0; i < 200 && !flood.closed.isDone(); i++) {
                try {
                    flood.send("{\"op\":\"ping\"}");
                } catch (RuntimeException e) {
                    break; // the server closed on us mid-flood
                }
            }
            JsonNode limited = flood.expect(f -> f.path("op").asText().equals("error"));
            assertEquals("rate_limited", limited.path("code").asText());
            JsonNode d = flood.expect(f -> f.path("op").asText().equals("disconnect"));
            assertEquals(4008, d.path("code").asInt());
            assertTrue(d.path("reconnect").asBoolean());
            assertEquals(4008, flood.closeCode());
            node.publish("acme", "tenant", "calm", "{}");
            assertEquals("calm", calm.expect(f -> f.path("op").asText().equals("event")).path("type").asText());
            assertEquals(200, node.get("/health/ready").statusCode());
        }
    }

    @Test
    void aPublishWithinTheRateIsNeverRefused() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            for (int i = 0; i < 15; i++) {
                assertEquals("reply", c.request(100 + i, "{\"op\":\"ping\",\"id\":" + (100 + i) + "}").path("op").asText());
            }
            assertEquals(null, c.poll(Duration.ofMillis(100)));
        }
    }
}
