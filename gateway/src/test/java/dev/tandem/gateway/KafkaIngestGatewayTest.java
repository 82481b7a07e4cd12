package dev.tandem.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import dev.tandem.testing.KafkaTopics;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Domain events produced to a real Kafka by a plain producer reach WebSocket clients. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KafkaIngestGatewayTest {
    private static TestGateway node;
    private static KafkaProducer<String, String> producer;
    private static String topic;

    @BeforeAll
    static void start() {
        String bootstrap = TestServices.kafka();
        topic = "gw.in." + UUID.randomUUID().toString().substring(0, 8);
        node = TestGateway.start(Map.of(
                "tandem.kafka.bootstrap-servers", bootstrap,
                "tandem.kafka.topic-in", topic,
                "tandem.kafka.topic-dead-letter", topic + ".dlq",
                "tandem.kafka.group-id", "gw-" + UUID.randomUUID(),
                "tandem.kafka.routes.0.type", "stock.*",
                "tandem.kafka.routes.0.channels", "location:{data.locationId}"));
        producer = KafkaTopics.producer();
    }

    @AfterAll
    static void stop() {
        producer.close();
        node.close();
    }

    private static void produce(String key, String json) throws Exception {
        producer.send(new ProducerRecord<>(topic, key, json)).get();
    }

    @Test
    @Order(1) // counts the node's dead letters from zero
    void domainEventsReachSubscribersOnceWithOffsetsAndAMalformedOneDoesNotStallThem() throws Exception {
        String token = TestGateway.token("picker", "acme", Map.of("locations", List.of("wh-7")), Duration.ofHours(1));
        try (WsProbe c = ContractProbes.connect(node.ws(), token);
             WsProbe other = ContractProbes.connect(node.ws(), TestGateway.token("x", "globex",
                     Map.of("locations", List.of("*")), Duration.ofHours(1)))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-7\"}");
            other.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-7\"}");
            produce("acme/sku-1", "{\"specversion\":\"1.0\",\"id\":\"ev-1\",\"source\":\"/erp\",\"type\":\"stock.updated\","
                    + "\"tenantid\":\"acme\",\"data\":{\"locationId\":\"wh-7\",\"sku\":\"A-1\",\"qty\":7}}");
            produce("acme/sku-1", "{\"specversion\":\"1.0\",\"source\":\"/erp\"}");
            produce("acme/sku-1", "{\"specversion\":\"1.0\",\"id\":\"ev-1\",\"source\":\"/erp\",\"type\":\"stock.updated\","
                    + "\"tenantid\":\"acme\",\"data\":{\"locationId\":\"wh-7\",\"sku\":\"A-1\",\"qty\":7}}");
            produce("acme/sku-1", "{\"specversion\":\"1.0\",\"id\":\"ev-2\",\"source\":\"/erp\",\"type\":\"stock.reserved\","
                    + "\"tenantid\":\"acme\",\"channels\":\"location:wh-7\",\"data\":{\"sku\":\"A-1\",\"qty\":2}}");
            JsonNode first = c.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("stock.updated", first.path("type").asText());
            assertEquals("ev-1", first.path("eventId").asText());
            assertEquals(1, first.path("offset").asLong());
            assertEquals(7, first.path("data").path("qty").asInt());
            JsonNode second = c.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("ev-2", second.path("eventId").asText(), "the redelivered ev-1 is dropped, the malformed one skipped");
            assertEquals(2, second.path("offset").asLong());
            assertNull(other.poll(Duration.ofMillis(300)), "another tenant's clients see nothing");
            String ready = node.get("/health/ready").body();
            assertTrue(ready.contains("{\"name\":\"kafka\",\"status\":\"UP\""), ready);
            assertEquals(200, node.get("/health/ready").statusCode(), ready);
            String metrics = node.get("/metrics").body();
            assertTrue(metrics.contains("tandem_kafka_ingest_dead_lettered{scope=\"application\",} 1.0"), metrics);
        }
    }

    /**
     * An overlong encoding ({@code C1 A2} for {@code b}) in {@code tenantid} decodes leniently to
     * {@code globex}: the record must be refused before it is parsed, never reach that tenant.
     */
    @Test
    @Order(2)
    void aRecordWithAnOverlongEncodingNeverReachesAnotherTenant() throws Exception {
        try (WsProbe globex = ContractProbes.connect(node.ws(), TestGateway.token("x", "globex"));
             KafkaProducer<byte[], byte[]> bytes = new KafkaProducer<>(Map.of(
                     "bootstrap.servers", TestServices.kafka(),
                     "key.serializer", ByteArraySerializer.class.getName(),
                     "value.serializer", ByteArraySerializer.class.getName()))) {
            globex.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            java.io.ByteArrayOutputStream value = new java.io.ByteArrayOutputStream();
            value.writeBytes(("{\"specversion\":\"1.0\",\"id\":\"smuggled\",\"source\":\"/erp\",\"type\":\"x.y\","
                    + "\"channels\":\"tenant\",\"tenantid\":\"glo").getBytes(StandardCharsets.UTF_8));
            value.write(0xC1);
            value.write(0xA2);
            value.writeBytes("ex\",\"data\":{}}".getBytes(StandardCharsets.UTF_8));
            bytes.send(new ProducerRecord<>(topic, "k".getBytes(StandardCharsets.UTF_8), value.toByteArray())).get();
            produce("k", "{\"specversion\":\"1.0\",\"id\":\"fair\",\"source\":\"/erp\",\"type\":\"x.y\","
                    + "\"channels\":\"tenant\",\"tenantid\":\"globex\",\"data\":{}}");
            JsonNode event = globex.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("fair", event.path("eventId").asText(), "the overlong record never arrives");
            assertNull(globex.poll(Duration.ofMillis(300)));
        }
    }
}
