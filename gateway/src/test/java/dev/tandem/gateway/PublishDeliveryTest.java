package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublishDeliveryTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(java.util.Map.of("tandem.channels.namespaces.tenant.history-size", "1000"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static boolean isEvent(JsonNode f) {
        return f.path("op").asText().equals("event");
    }

    @Test
    void restPublishReachesEverySubscriberExactlyOnceWithIncreasingOffsets() throws Exception {
        List<WsProbe> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("u" + i, "t-exact"));
                assertEquals("reply", c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}").path("op").asText());
                clients.add(c);
            }
            int n = 50;
            for (int i = 0; i < n; i++) {
                node.publish("t-exact", "tenant", "tick", "{\"i\":" + i + "}");
            }
            for (WsProbe c : clients) {
                String epoch = null;
                for (int i = 0; i < n; i++) {
                    JsonNode e = c.expect(PublishDeliveryTest::isEvent);
                    assertEquals(i + 1, e.path("offset").asLong());
                    assertEquals(i, e.path("data").path("i").asInt());
                    assertEquals("tick", e.path("type").asText());
                    assertTrue(!e.has("eventId") && e.path("ts").isIntegralNumber(), "no generated id; the time in ms");
                    if (epoch == null) {
                        epoch = e.path("epoch").asText();
                    }
                    assertEquals(epoch, e.path("epoch").asText());
                }
                assertNull(c.poll(java.time.Duration.ofMillis(300)), "no duplicate deliveries");
            }
        } finally {
            clients.forEach(WsProbe::close);
        }
    }

    @Test
    void concurrentPublishersProduceOneGapFreeOrderSeenAlikeByAllSubscribers() throws Exception {
        try (WsProbe a = ContractProbes.connect(node.ws(), TestGateway.token("a", "t-order"));
             WsProbe b = ContractProbes.connect(node.ws(), TestGateway.token("b", "t-order"))) {
            a.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            b.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            int threads = 4;
            int each = 40;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        node.publish("t-order", "tenant", "p", "{\"t\":" + thread + ",\"i\":" + i + "}");
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
            List<String> seenByA = new ArrayList<>();
            List<String> seenByB = new ArrayList<>();
            int[] lastPerThread = {-1, -1, -1, -1};
            for (int i = 1; i <= threads * each; i++) {
                JsonNode ea = a.expect(PublishDeliveryTest::isEvent);
                JsonNode eb = b.expect(PublishDeliveryTest::isEvent);
                assertEquals(i, ea.path("offset").asLong());
                assertEquals(i, eb.path("offset").asLong());
                seenByA.add(ea.path("data").toString());
                seenByB.add(eb.path("data").toString());
                int t = ea.path("data").path("t").asInt();
                int seq = ea.path("data").path("i").asInt();
                assertEquals(lastPerThread[t] + 1, seq, "each publisher's events stay in its order");
                lastPerThread[t] = seq;
            }
            assertEquals(seenByA, seenByB);
        }
    }

    @Test
    void sendToUserReachesEveryDeviceOfThatUserOnly() throws Exception {
        try (WsProbe phone = ContractProbes.connect(node.ws(), TestGateway.token("carol", "t-send"));
             WsProbe laptop = ContractProbes.connect(node.ws(), TestGateway.token("carol", "t-send"));
             WsProbe other = ContractProbes.connect(node.ws(), TestGateway.token("dave", "t-send"))) {
            phone.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:carol\"}");
            laptop.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:carol\"}");
            other.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:dave\"}");
            HttpResponse<String> res = node.post("/api/v1/users/carol/send", TestGateway.token("erp", "t-send", "service"),
                    "{\"type\":\"invoice.paid\",\"data\":{\"invoice\":\"I-1\"}}");
            assertEquals(200, res.statusCode(), res.body());
            for (WsProbe c : List.of(phone, laptop)) {
                JsonNode e = c.expect(PublishDeliveryTest::isEvent);
                assertEquals("user:carol", e.path("channel").asText());
                assertEquals("I-1", e.path("data").path("invoice").asText());
            }
            assertNull(other.poll(java.time.Duration.ofMillis(300)));
        }
    }

    @Test
    void resumesAfterAPositionWithNoGapAndNoDuplicate() throws Exception {
        String epoch;
        long seen;
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("r", "t-resume"))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            node.publish("t-resume", "tenant", "e", "{\"n\":1}");
            JsonNode e = c.expect(PublishDeliveryTest::isEvent);
            epoch = e.path("epoch").asText();
            seen = e.path("offset").asLong();
        }
        for (int i = 2; i <= 4; i++) {
            node.publish("t-resume", "tenant", "e", "{\"n\":" + i + "}");
        }
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("r", "t-resume"))) {
            JsonNode reply = c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"tenant\",\"since\":{\"epoch\":\""
                    + epoch + "\",\"offset\":" + seen + "}}");
            assertTrue(reply.path("recovered").asBoolean());
            assertEquals(4, reply.path("offset").asLong());
            for (int n = 2; n <= 4; n++) {
                assertEquals(n, c.expect(PublishDeliveryTest::isEvent).path("data").path("n").asInt());
            }
            node.publish("t-resume", "tenant", "e", "{\"n\":5}");
            assertEquals(5, c.expect(PublishDeliveryTest::isEvent).path("offset").asLong());
            JsonNode other = c.request(4, "{\"op\":\"subscribe\",\"id\":4,\"channel\":\"user:r\",\"since\":{\"epoch\":\"gone\",\"offset\":3}}");
            assertEquals(false, other.path("recovered").asBoolean());
            JsonNode unsubscribed = c.request(5, "{\"op\":\"unsubscribe\",\"id\":5,\"channel\":\"tenant\"}");
            assertEquals(false, unsubscribed.path("subscribed").asBoolean(true));
            node.publish("t-resume", "tenant", "e", "{\"n\":6}");
            assertNull(c.poll(java.time.Duration.ofMillis(300)), "nothing after unsubscribe");
            JsonNode ahead = c.request(6, "{\"op\":\"subscribe\",\"id\":6,\"channel\":\"tenant\",\"since\":{\"epoch\":\""
                    + epoch + "\",\"offset\":99}}");
            assertEquals("bad_request", ahead.path("code").asText());
        }
    }

    @Test
    void theServiceApiRefusesWhatItMustRefuse() throws Exception {
        String service = TestGateway.token("erp", "t-rest", "service");
        assertEquals(401, node.postInvalid("/api/v1/publish", null, "{}").statusCode());
        assertEquals(401, node.postInvalid("/api/v1/publish", "garbage", "{}").statusCode());
        HttpResponse<String> notService = node.post("/api/v1/publish", TestGateway.token("alice", "t-rest"),
                "{\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}");
        assertEquals(403, notService.statusCode());
        assertTrue(notService.body().contains("\"code\":\"forbidden\""));
        assertEquals(400, node.postInvalid("/api/v1/publish", service, "{not json").statusCode());
        assertEquals(400, node.postInvalid("/api/v1/publish", service, "{\"channel\":\"tenant\",\"data\":{}}").statusCode());
        HttpResponse<String> unknown = node.post("/api/v1/publish", service, "{\"channel\":\"nope:1\",\"type\":\"x\",\"data\":{}}");
        assertEquals(400, unknown.statusCode());
        assertTrue(unknown.body().contains("unknown_channel"), unknown.body());
        HttpResponse<String> many = node.post("/api/v1/publish", service,
                "{\"channels\":[\"tenant\",\"location:a\"],\"type\":\"x\",\"data\":{\"k\":1}}");
        assertEquals(200, many.statusCode(), many.body());
        assertTrue(many.body().contains("\"channel\":\"location:a\""), many.body());
        // nothing half-published when one name is bad
        HttpResponse<String> mixed = node.post("/api/v1/publish", service,
                "{\"channels\":[\"location:b\",\"bad name\"],\"type\":\"x\",\"data\":{}}");
        assertEquals(400, mixed.statusCode());
        HttpResponse<String> after = node.post("/api/v1/publish", service, "{\"channel\":\"location:b\",\"type\":\"x\",\"data\":{}}");
        assertTrue(after.body().contains("\"offset\":1"), "location:b got nothing from the refused request: " + after.body());
    }
}
