package dev.tandem.it;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.Tokens;
import dev.tandem.testing.KafkaTopics;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two packaged gateway processes in cluster mode against real Redis, PostgreSQL and Kafka: a
 * client gets the same stream whichever node it is on.
 */
class ClusterIT {
    private static GatewayProcess a;
    private static GatewayProcess b;
    private static KafkaProducer<String, String> producer;
    private static String topic;
    private static final Map<String, List<String>> ALL = Tokens.ALL;

    @BeforeAll
    static void start() {
        String run = UUID.randomUUID().toString().substring(0, 8);
        topic = "it.in." + run;
        TestServices.Postgres pg = TestServices.postgres();
        Map<String, String> cluster = Map.ofEntries(
                Map.entry("tandem.redis.address", TestServices.redis()),
                Map.entry("tandem.db.url", pg.jdbcUrl()),
                Map.entry("tandem.db.username", pg.user()),
                Map.entry("tandem.db.password", pg.password()),
                Map.entry("tandem.db.schema", "it_" + run),
                Map.entry("tandem.kafka.bootstrap-servers", TestServices.kafka()),
                Map.entry("tandem.kafka.topic-in", topic),
                Map.entry("tandem.kafka.topic-dead-letter", topic + ".dlq"),
                Map.entry("tandem.kafka.topic-out", topic + ".out"),
                Map.entry("tandem.kafka.group-id", "it-" + run),
                Map.entry("tandem.presence.ttl", "PT3S"));
        a = GatewayProcess.start("cluster-a", cluster);
        b = GatewayProcess.start("cluster-b", cluster);
        producer = KafkaTopics.producer();
    }

    @AfterAll
    static void stop() {
        producer.close();
        a.close();
        b.close();
    }

    private static boolean event(JsonNode f) {
        return f.path("op").asText().equals("event");
    }

    private static String tenant() {
        return "t" + UUID.randomUUID().toString().substring(0, 8);
    }

    @Test
    void aKafkaEventReachesSubscribersOnBothNodesOnce() throws Exception {
        String t = tenant();
        try (WsProbe onA = WsProbe.connect(a.ws(), Tokens.token("u1", t, ALL));
             WsProbe onB = WsProbe.connect(b.ws(), Tokens.token("u2", t, ALL))) {
            onA.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-1\"}");
            onB.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-1\"}");
            producer.send(new ProducerRecord<>(topic, t + "/sku-1", "{\"specversion\":\"1.0\",\"id\":\"k-1\","
                    + "\"source\":\"/erp\",\"type\":\"stock.updated\",\"tenantid\":\"" + t + "\","
                    + "\"channels\":\"location:wh-1\",\"data\":{\"qty\":3}}")).get();
            for (WsProbe c : List.of(onA, onB)) {
                JsonNode e = c.expect(ClusterIT::event);
                assertEquals("k-1", e.path("eventId").asText());
                assertEquals(1, e.path("offset").asLong());
                assertNull(c.poll(Duration.ofMillis(500)), "exactly once");
            }
        }
    }

    @Test
    void aClientOnNodeARecoversWhatWasPublishedThroughNodeBWhileAway() throws Exception {
        String t = tenant();
        String service = Tokens.service(t);
        String epoch;
        long seen;
        try (WsProbe c = WsProbe.connect(a.ws(), Tokens.token("u1", t, ALL))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            assertEquals(200, b.post("/api/v1/publish", service, "{\"channel\":\"tenant\",\"type\":\"n\",\"data\":{\"n\":1}}")
                    .statusCode());
            JsonNode e = c.expect(ClusterIT::event);
            epoch = e.path("epoch").asText();
            seen = e.path("offset").asLong();
        }
        for (int n = 2; n <= 5; n++) {
            assertEquals(200, b.post("/api/v1/publish", service, "{\"channel\":\"tenant\",\"type\":\"n\",\"data\":{\"n\":"
                    + n + "}}").statusCode());
        }
        try (WsProbe c = WsProbe.connect(a.ws(), Tokens.token("u1", t, ALL))) {
            JsonNode reply = c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"tenant\",\"since\":{\"epoch\":\""
                    + epoch + "\",\"offset\":" + seen + "}}");
            assertTrue(reply.path("recovered").asBoolean(), reply.toString());
            for (int n = 2; n <= 5; n++) {
                assertEquals(n, c.expect(ClusterIT::event).path("data").path("n").asInt());
            }
            a.post("/api/v1/publish", service, "{\"channel\":\"tenant\",\"type\":\"n\",\"data\":{\"n\":6}}");
            JsonNode live = c.expect(ClusterIT::event);
            assertEquals(6, live.path("data").path("n").asInt());
            assertEquals(6, live.path("offset").asLong(), "offsets stay gap-free across nodes");
        }
    }

    @Test
    void presenceIsTheSameSeenFromBothNodes() throws Exception {
        String t = tenant();
        String service = Tokens.service(t);
        try (WsProbe alice = WsProbe.connect(a.ws(), Tokens.token("alice", t, ALL));
             WsProbe bob = WsProbe.connect(b.ws(), Tokens.token("bob", t, ALL))) {
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w1\"}");
            bob.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w1\",\"presence\":true}");
            JsonNode join = alice.expect(f -> f.path("op").asText().equals("presence"));
            assertEquals("join", join.path("kind").asText());
            assertEquals("bob", join.path("data").path("user").asText());
            String fromA = a.get("/api/v1/presence/workspace:w1", Optional.of(service)).body();
            String fromB = b.get("/api/v1/presence/workspace:w1", Optional.of(service)).body();
            assertTrue(fromA.contains("\"user\":\"alice\"") && fromA.contains("\"user\":\"bob\""), fromA);
            assertEquals(fromA.replaceAll("\"lastSeen\":\"[^\"]*\"", ""), fromB.replaceAll("\"lastSeen\":\"[^\"]*\"", ""));
            bob.close();
            JsonNode leave = alice.expect(f -> f.path("op").asText().equals("presence")
                    && f.path("kind").asText().equals("leave"));
            assertEquals("bob", leave.path("data").path("user").asText());
        }
    }

    @Test
    void aChangeMadeOnNodeAReachesAClientOnNodeB() throws Exception {
        String t = tenant();
        try (WsProbe writer = WsProbe.connect(a.ws(), Tokens.token("alice", t, ALL));
             WsProbe reader = WsProbe.connect(b.ws(), Tokens.token("bob", t, ALL))) {
            reader.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:task:t-1\"}");
            JsonNode r = writer.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"task\",\"docId\":\"t-1\","
                    + "\"baseVersion\":0,\"opId\":\"a:1\",\"data\":{\"title\":\"hello\"}}");
            assertEquals("applied", r.path("result").asText(), r.toString());
            JsonNode e = reader.expect(ClusterIT::event);
            assertEquals("doc.changed", e.path("type").asText());
            assertEquals("hello", e.path("data").path("data").path("title").asText());
            JsonNode read = reader.request(4, "{\"op\":\"doc.get\",\"id\":4,\"docType\":\"task\",\"docId\":\"t-1\"}");
            assertEquals(1, read.path("document").path("version").asInt(), "both nodes read the same PostgreSQL");
        }
    }

    @Test
    void clientChangesFromBothNodesAppearOnceOnTheOutboundTopicInOrderPerDocument() throws Exception {
        String t = tenant();
        try (WsProbe onA = WsProbe.connect(a.ws(), Tokens.token("alice", t, ALL));
             WsProbe onB = WsProbe.connect(b.ws(), Tokens.token("bob", t, ALL))) {
            for (int v = 0; v < 6; v++) {
                WsProbe writer = v % 2 == 0 ? onA : onB;
                String body = v == 0 ? "\"data\":{\"qty\":0}" : "\"patch\":{\"set\":{\"qty\":" + v + "}}";
                JsonNode r = writer.request(10 + v, "{\"op\":\"doc.update\",\"id\":" + (10 + v) + ",\"docType\":\"bin\","
                        + "\"docId\":\"b-1\",\"baseVersion\":" + v + ",\"opId\":\"w:" + (v + 1) + "\"," + body + "}");
                assertEquals("applied", r.path("result").asText(), r.toString());
            }
        }
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        List<JsonNode> changes = new java.util.ArrayList<>();
        for (var rec : KafkaTopics.read(topic + ".out", 6, Duration.ofSeconds(30), r -> r.key().equals(t + "/bin/b-1"))) {
            changes.add(json.readTree(rec.value()));
        }
        assertEquals(List.of(1, 2, 3, 4, 5, 6), changes.stream().map(e -> e.path("data").path("version").asInt()).toList(),
                "each change once, in version order");
        assertEquals(6, changes.stream().map(e -> e.path("id").asText()).distinct().count());
        assertEquals(t, changes.getFirst().path("tenantid").asText());
    }

    @Test
    void aUsersInboxFollowsItToTheOtherNodeUntilAcknowledged() throws Exception {
        String t = tenant();
        String service = Tokens.service(t);
        assertEquals(200, a.post("/api/v1/users/carol/send", service, "{\"type\":\"invoice.paid\",\"data\":{\"n\":1}}")
                .statusCode());
        try (WsProbe phone = WsProbe.connect(b.ws(), Tokens.token("carol", t, ALL))) {
            JsonNode reply = phone.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:carol\"}");
            assertEquals(1, reply.path("inbox").asInt());
            JsonNode e = phone.expect(ClusterIT::event);
            assertEquals(1, e.path("data").path("n").asInt());
            JsonNode ack = phone.request(3, "{\"op\":\"ack\",\"id\":3,\"channel\":\"user:carol\",\"offset\":"
                    + e.path("offset").asLong() + "}");
            assertEquals(0, ack.path("remaining").asInt());
        }
        String state = a.get("/api/v1/sync-state?user=carol", Optional.of(service)).body();
        assertTrue(state.contains("\"depth\":0"), state);
        try (WsProbe laptop = WsProbe.connect(a.ws(), Tokens.token("carol", t, ALL))) {
            JsonNode reply = laptop.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:carol\"}");
            assertEquals(0, reply.path("inbox").asInt(), "acknowledged: never again");
        }
    }
}
