package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Subscriptions with {@code delta: "fossil"} over a real WebSocket: the subscriber rebuilds every
 * payload byte for byte from the first whole one and the deltas after it; replayed events come
 * whole; a namespace without deltas answers {@code delta: false} and sends plain events.
 */
class DeltaSubscriptionTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.channels.namespaces.workspace.delta", "[]",
                "tandem.channels.namespaces.project.delta", "fossil"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static boolean isEvent(JsonNode f) {
        return f.path("op").asText().equals("event");
    }

    @Test
    void aDeltaSubscriberRebuildsEveryPayloadExactlyFromOneWholeThenDeltas() throws Exception {
        try (WsProbe delta = ContractProbes.connect(node.ws(), TestGateway.token("d", "t-delta"));
             WsProbe plain = ContractProbes.connect(node.ws(), TestGateway.token("p", "t-delta"))) {
            JsonNode reply = delta.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"delta\":\"fossil\"}");
            assertTrue(reply.path("delta").asBoolean(), "tenant allows deltas: " + reply);
            JsonNode plainReply = plain.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            assertFalse(plainReply.has("delta"), "no delta asked, none said");
            int n = 20;
            for (int i = 0; i < n; i++) {
                node.publish("t-delta", "tenant", "stock.updated", DeltaFrames.stock(i));
            }
            String held = null;
            int deltas = 0;
            for (int i = 0; i < n; i++) {
                JsonNode e = delta.expect(DeltaSubscriptionTest::isEvent);
                assertEquals(i + 1, e.path("offset").asLong());
                if (i == 0) {
                    assertFalse(e.path("delta").asBoolean(), "the first event after subscribing is whole");
                } else if (e.path("delta").asBoolean()) {
                    deltas++;
                    assertTrue(e.path("data").textValue().length() < DeltaFrames.stock(i).length(), "a delta is smaller");
                }
                held = DeltaFrames.apply(held, e);
                assertEquals(DeltaFrames.stock(i), held, "payload " + (i + 1) + " rebuilt byte for byte");
                JsonNode p = plain.expect(DeltaSubscriptionTest::isEvent);
                assertFalse(p.has("delta"));
                assertEquals(DeltaFrames.stock(i), p.path("data").toString(), "the plain subscriber gets the payload itself");
            }
            assertEquals(n - 1, deltas, "every event after the first is a delta");
        }
    }

    @Test
    void replayedEventsComeWholeAndTheNextLiveOneIsADeltaAgainstTheLastReplayed() throws Exception {
        String tenant = "t-replay";
        // another delta subscriber keeps the channel's last payload on the node (a node keeps it
        // only while the channel has delta subscribers)
        try (WsProbe watcher = ContractProbes.connect(node.ws(), TestGateway.token("w", tenant));
             WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("d", tenant))) {
            watcher.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"delta\":\"fossil\"}");
            for (int i = 0; i < 5; i++) {
                node.publish(tenant, "tenant", "stock.updated", DeltaFrames.stock(i));
            }
            String epoch;
            try (WsProbe first = ContractProbes.connect(node.ws(), TestGateway.token("x", tenant))) {
                epoch = first.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}").path("epoch").asText();
            }
            JsonNode reply = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"delta\":\"fossil\","
                    + "\"since\":{\"epoch\":\"" + epoch + "\",\"offset\":2}}");
            assertTrue(reply.path("recovered").asBoolean() && reply.path("delta").asBoolean(), reply.toString());
            String held = null;
            for (int i = 2; i < 5; i++) {
                JsonNode e = c.expect(DeltaSubscriptionTest::isEvent);
                assertEquals(i + 1, e.path("offset").asLong());
                assertFalse(e.path("delta").asBoolean(), "a replayed event is whole");
                held = DeltaFrames.apply(held, e);
                assertEquals(DeltaFrames.stock(i), held);
            }
            node.publish(tenant, "tenant", "stock.updated", DeltaFrames.stock(5));
            JsonNode live = c.expect(DeltaSubscriptionTest::isEvent);
            assertEquals(6, live.path("offset").asLong());
            assertTrue(live.path("delta").asBoolean(), "live after the replay: a delta against offset 5");
            assertEquals(DeltaFrames.stock(5), DeltaFrames.apply(held, live));
        }
    }

    @Test
    void aNamespaceWithoutDeltasAnswersWithoutThemAndSendsPlainEvents() throws Exception {
        Map<String, List<String>> scopes = Map.of("workspaces", List.of("w1"));
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("d", "t-nodelta", scopes, Duration.ofHours(1)))) {
            JsonNode reply = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w1\",\"delta\":\"fossil\"}");
            assertEquals("reply", reply.path("op").asText(), "not refused: " + reply);
            assertFalse(reply.path("delta").asBoolean(true), "the reply says there are no deltas");
            node.publish("t-nodelta", "workspace:w1", "note", "{\"n\":1}");
            JsonNode e = c.expect(DeltaSubscriptionTest::isEvent);
            assertFalse(e.has("delta"));
            assertEquals(1, e.path("data").path("n").asInt());
        }
    }

    @Test
    void ephemeralEventsOnADeltaSubscriptionAreWholeAndDoNotBreakTheChain() throws Exception {
        String tenant = "t-eph";
        Map<String, List<String>> scopes = Map.of("projects", List.of("p1"));
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("d", tenant, scopes, Duration.ofHours(1)))) {
            JsonNode reply = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"project:p1\",\"delta\":\"fossil\"}");
            assertTrue(reply.path("delta").asBoolean(), "deltas turned on for project by configuration: " + reply);
            try (WsProbe typist = ContractProbes.connect(node.ws(), TestGateway.token("bob", tenant, scopes,
                    Duration.ofHours(1)))) {
                List<String> got = new ArrayList<>();
                node.publish(tenant, "project:p1", "note", DeltaFrames.stock(0));
                String held = DeltaFrames.apply(null, c.expect(DeltaSubscriptionTest::isEvent));
                typist.send("{\"op\":\"publish\",\"channel\":\"project:p1\",\"type\":\"typing\",\"data\":{\"on\":true},"
                        + "\"ephemeral\":true}");
                JsonNode typing = c.expect(DeltaSubscriptionTest::isEvent);
                assertTrue(typing.path("ephemeral").asBoolean());
                assertFalse(typing.path("delta").asBoolean(), "an ephemeral event is whole");
                assertEquals("{\"on\":true}", typing.path("data").textValue());
                node.publish(tenant, "project:p1", "note", DeltaFrames.stock(1));
                JsonNode next = c.expect(DeltaSubscriptionTest::isEvent);
                assertTrue(next.path("delta").asBoolean(), "the chain goes on from the durable payload");
                got.add(DeltaFrames.apply(held, next));
                assertEquals(List.of(DeltaFrames.stock(1)), got);
                assertNull(c.poll(Duration.ofMillis(200)));
            }
        }
    }
}
