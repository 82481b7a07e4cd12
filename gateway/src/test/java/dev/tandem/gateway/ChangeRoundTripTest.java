package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

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
             WsProbe alice = WsProbe.connect(node.ws(), TestGateway.token("alice", "acme"));
             WsProbe watcher = WsProbe.connect(node.ws(), TestGateway.token("bob", "acme"));
             KafkaProducer<String, String> producer = producer(bootstrap)) {
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:alice\"}");
            watcher.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:order:o-1\"}");
            alice.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"order\",\"docId\":\"o-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:1\",\"data\":{\"qty\":1}}");
            alice.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"order\",\"docId\":\"o-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:2\",\"patch\":{\"set\":{\"qty\":500}}}");
            List<JsonNode> relayed = readChanges(bootstrap, "rt.out." + run, 2);
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
        }
    }

    private static String answer(String id, String status, JsonNode change, String extra) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/erp/orders\",\"type\":\"tandem.change."
                + status + "\",\"tenantid\":\"acme\",\"data\":{\"author\":\"" + change.path("updatedBy").asText()
                + "\",\"docType\":\"" + change.path("docType").asText() + "\",\"docId\":\"" + change.path("docId").asText()
                + "\",\"version\":" + change.path("version").asLong() + ",\"opId\":\"" + change.path("opId").asText()
                + "\"" + extra + "}}";
    }

    private static KafkaProducer<String, String> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    private static List<JsonNode> readChanges(String bootstrap, String topic, int n) throws Exception {
        Properties c = new Properties();
        c.put("bootstrap.servers", bootstrap);
        c.put("group.id", "reader-" + UUID.randomUUID());
        c.put("auto.offset.reset", "earliest");
        c.put("key.deserializer", StringDeserializer.class.getName());
        c.put("value.deserializer", StringDeserializer.class.getName());
        List<JsonNode> out = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < n && System.nanoTime() < deadline) {
                for (var r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(JSON.readTree(r.value()));
                }
            }
        }
        assertEquals(n, out.size(), "changes on the outbound topic");
        return out;
    }
}
