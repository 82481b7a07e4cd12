package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.KafkaTopics;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The round trip of a client change: accepted by Tandem, relayed to Kafka, then confirmed or
 * rejected by a backend; the author's devices hear the status, and a rejection with revert
 * undoes the change through a new version.
 */
class ChangeRoundTripTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aBackendRejectionRevertsTheChangeAndTellsTheAuthor() throws Exception {
        String bootstrap = TestServices.kafka();
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (TestGateway node = TestGateway.start(Map.of(
                "tandem.kafka.bootstrap-servers", bootstrap,
                "tandem.kafka.topic-in", "rt.in." + run,
                "tandem.kafka.topic-dead-letter", "rt.dlq." + run,
                "tandem.kafka.topic-out", "rt.out." + run,
                "tandem.kafka.group-id", "rt-" + run));
             WsProbe alice = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"));
             WsProbe watcher = ContractProbes.connect(node.ws(), TestGateway.token("bob", "acme"));
             KafkaProducer<String, String> producer = KafkaTopics.producer()) {
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:alice\"}");
            watcher.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:order:o-1\"}");
            alice.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"order\",\"docId\":\"o-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:1\",\"data\":{\"qty\":1}}");
            alice.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"order\",\"docId\":\"o-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:2\",\"patch\":{\"set\":{\"qty\":500}}}");
            List<JsonNode> relayed = readChanges("rt.out." + run, 2);
            JsonNode second = relayed.get(1).path("data");
            assertEquals(2, second.path("version").asInt());
            assertEquals("alice", second.path("updatedBy").asText());

            producer.send(new ProducerRecord<>("rt.in." + run, "acme/order/o-1", answer("rej-1", "rejected", second,
                    ",\"reason\":\"over the credit limit\",\"revert\":true"))).get();
            JsonNode status = alice.expect(f -> f.path("type").asText().equals("change.rejected"));
            assertEquals("user:alice", status.path("channel").asText());
            assertEquals("over the credit limit", status.path("data").path("reason").asText());
            assertEquals("a:2", status.path("data").path("opId").asText());
            assertEquals("applied", status.path("data").path("revert").path("result").asText(), status.toString());
            assertEquals(3, status.path("data").path("revert").path("version").asInt());
            JsonNode reverted = watcher.expect(f -> f.path("type").asText().equals("doc.changed")
                    && f.path("data").path("version").asInt() == 3);
            assertEquals(1, reverted.path("data").path("data").path("qty").asInt(), "back to the data of version 1");

            producer.send(new ProducerRecord<>("rt.in." + run, "acme/order/o-1", answer("conf-1", "confirmed",
                    relayed.get(0).path("data"), ""))).get();
            JsonNode confirmed = alice.expect(f -> f.path("type").asText().equals("change.confirmed"));
            assertEquals(1, confirmed.path("data").path("version").asInt());
            // what the node reports of its Kafka traffic: three changes relayed (two edits and the
            // revert), none waiting; the two answers read from the inbound topic, nothing left to read
            LimitsTest.waitFor(() -> metricAtLeast(node, "tandem_kafka_relay_events", 3));
            LimitsTest.waitFor(() -> metricIs(node, "tandem_kafka_relay_backlog", 0));
            LimitsTest.waitFor(() -> metricAtLeast(node, "tandem_kafka_ingest_events", 2));
            LimitsTest.waitFor(() -> metricIs(node, "tandem_kafka_ingest_lag", 0));
        }
    }

    private static boolean metricIs(TestGateway node, String name, double value) {
        return scrape(node, name) == value;
    }

    private static boolean metricAtLeast(TestGateway node, String name, double value) {
        return scrape(node, name) >= value;
    }

    /** The metric's value, or NaN while the scrape does not show it yet. */
    private static double scrape(TestGateway node, String name) {
        try {
            return node.metric(name, "");
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    private static String answer(String id, String status, JsonNode change, String extra) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/erp/orders\",\"type\":\"tandem.change."
                + status + "\",\"tenantid\":\"acme\",\"data\":{\"author\":\"" + change.path("updatedBy").asText()
                + "\",\"docType\":\"" + change.path("docType").asText() + "\",\"docId\":\"" + change.path("docId").asText()
                + "\",\"version\":" + change.path("version").asLong() + ",\"opId\":\"" + change.path("opId").asText()
                + "\"" + extra + "}}";
    }

    private static List<JsonNode> readChanges(String topic, int n) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (var r : KafkaTopics.read(topic, n, Duration.ofSeconds(30), r -> true)) {
            out.add(JSON.readTree(r.value()));
        }
        assertEquals(n, out.size(), "changes on the outbound topic");
        return out;
    }
}
