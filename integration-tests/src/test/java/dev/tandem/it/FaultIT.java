package dev.tandem.it;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.Tokens;
import dev.tandem.testing.KafkaTopics;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults in the middle of traffic, on packaged gateway processes: nothing acknowledged is lost,
 * and nodes recover by themselves.
 */
class FaultIT {
    private static final Map<String, List<String>> ALL = Map.of("locations", List.of("*"));

    private static Map<String, String> cluster(String run) {
        TestServices.Postgres pg = TestServices.postgres();
        return Map.ofEntries(
                Map.entry("tandem.redis.address", TestServices.redis()),
                Map.entry("tandem.db.url", pg.jdbcUrl()),
                Map.entry("tandem.db.username", pg.user()),
                Map.entry("tandem.db.password", pg.password()),
                Map.entry("tandem.db.schema", "fault_" + run),
                Map.entry("tandem.kafka.bootstrap-servers", TestServices.kafka()),
                Map.entry("tandem.kafka.topic-in", "fault.in." + run),
                Map.entry("tandem.kafka.topic-dead-letter", "fault.in." + run + ".dlq"),
                Map.entry("tandem.kafka.topic-out", "fault.out." + run),
                Map.entry("tandem.kafka.group-id", "fault-" + run),
                Map.entry("tandem.kafka.retry-backoff", "PT0.5S"));
    }

    private static boolean event(JsonNode f) {
        return f.path("op").asText().equals("event");
    }

    @Test
    void aNodeStoppedMidTrafficLosesNothingThatWasAcknowledged() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String t = "f" + run;
        String service = Tokens.service(t);
        try (GatewayProcess survivor = GatewayProcess.start("fault-survivor", cluster(run));
             GatewayProcess doomed = GatewayProcess.start("fault-doomed", cluster(run))) {
            WsProbe client = WsProbe.connect(doomed.ws(), Tokens.token("u", t, ALL));
            client.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            List<Long> acknowledged = new ArrayList<>();
            String epoch = null;
            for (int n = 1; n <= 40; n++) {
                var res = survivor.post("/api/v1/publish", service, "{\"channel\":\"tenant\",\"type\":\"n\",\"data\":{\"n\":" + n + "}}");
                assertEquals(200, res.statusCode(), res.body());
                JsonNode pub = new com.fasterxml.jackson.databind.ObjectMapper().readTree(res.body()).path("publications").get(0);
                acknowledged.add(pub.path("offset").asLong());
                epoch = pub.path("epoch").asText();
                if (n == 15) {
                    Thread.ofVirtual().start(() -> doomed.stop(Duration.ofSeconds(20))); // SIGTERM mid-traffic: drains, 1012
                }
            }
            long lastSeen = 0;
            while (!client.closed.isDone()) {
                JsonNode f = client.poll(Duration.ofMillis(200));
                if (f != null && event(f)) {
                    lastSeen = f.path("offset").asLong();
                }
            }
            client.close();
            try (WsProbe again = WsProbe.connect(survivor.ws(), Tokens.token("u", t, ALL))) {
                JsonNode reply = again.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"tenant\",\"since\":{\"epoch\":\""
                        + epoch + "\",\"offset\":" + lastSeen + "}}");
                assertTrue(reply.path("recovered").asBoolean(), reply.toString());
                List<Long> rest = new ArrayList<>();
                for (long o = lastSeen + 1; o <= acknowledged.getLast(); o++) {
                    rest.add(again.expect(FaultIT::event).path("offset").asLong());
                }
                assertEquals(acknowledged.subList((int) lastSeen, acknowledged.size()), rest,
                        "every acknowledged publication after the last one seen, once, in order");
            }
        }
    }

    @Test
    void aKafkaBrokerRestartDuringTrafficLosesNothingAndReadinessFollowsIt() throws Exception {
        Path script = kafkaScript();
        assertTrue(System.getenv("TANDEM_TEST_KAFKA_BOOTSTRAP") == null && Files.isExecutable(script)
                        && TestServices.kafka().equals("127.0.0.1:9092"),
                "this test restarts the local Kafka broker of scripts/kafka.sh: unset TANDEM_TEST_KAFKA_BOOTSTRAP and "
                        + "start it with './tandem services up' (./tandem test does)");
        String run = UUID.randomUUID().toString().substring(0, 8);
        String t = "k" + run;
        try (GatewayProcess node = GatewayProcess.start("fault-kafka", cluster(run));
             KafkaProducer<String, String> producer = KafkaTopics.producer(
                     ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "120000", ProducerConfig.MAX_BLOCK_MS_CONFIG, "120000");
             WsProbe client = WsProbe.connect(node.ws(), Tokens.token("u", t, ALL))) {
            client.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-1\"}");
            String topic = "fault.in." + run;
            for (int n = 1; n <= 5; n++) {
                producer.send(new ProducerRecord<>(topic, t + "/x", event(t, n))).get();
            }
            for (int n = 1; n <= 5; n++) {
                assertEquals(n, client.expect(FaultIT::event).path("data").path("n").asInt());
            }
            try {
                sh(script, "down");
                waitFor(() -> status(node) == 503, "readiness DOWN while Kafka is gone");
                // a client change while Kafka is away waits in the outbox
                JsonNode r = client.request(5, "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"note\",\"docId\":\"n-1\","
                        + "\"baseVersion\":0,\"opId\":\"u:1\",\"data\":{\"text\":\"while kafka was down\"}}");
                assertEquals("applied", r.path("result").asText(), r.toString());
            } finally {
                sh(script, "up");
            }
            for (int n = 6; n <= 10; n++) {
                producer.send(new ProducerRecord<>(topic, t + "/x", event(t, n))).get(120, TimeUnit.SECONDS);
            }
            for (int n = 6; n <= 10; n++) {
                JsonNode e = client.expect(FaultIT::event);
                assertEquals(n, e.path("data").path("n").asInt(), "in order, nothing lost, nothing twice");
                assertEquals(n, e.path("offset").asLong());
            }
            waitFor(() -> status(node) == 200, "readiness UP again by itself");
            // and the relay sends it once Kafka is back
            List<String> relayed = KafkaTopics.read("fault.out." + run, 1, Duration.ofSeconds(60), r -> true).stream()
                    .map(r -> r.value()).toList();
            assertEquals(1, relayed.size(), "the change made during the outage, relayed once");
            assertTrue(relayed.getFirst().contains("while kafka was down"), relayed.getFirst());
        }
    }

    private static String event(String tenant, int n) {
        return "{\"specversion\":\"1.0\",\"id\":\"e-" + n + "\",\"source\":\"/erp\",\"type\":\"stock.updated\","
                + "\"tenantid\":\"" + tenant + "\",\"channels\":\"location:wh-1\",\"data\":{\"n\":" + n + "}}";
    }

    private static int status(GatewayProcess node) {
        return node.readyStatus();
    }

    private static Path kafkaScript() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("scripts/kafka.sh"))) {
            dir = dir.getParent();
        }
        return dir == null ? Path.of("scripts/kafka.sh") : dir.resolve("scripts/kafka.sh");
    }

    private static void sh(Path script, String verb) throws Exception {
        Process p = new ProcessBuilder(script.toString(), verb).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "scripts/kafka.sh " + verb + " did not finish");
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 60 s: " + what);
            }
            Thread.sleep(200);
        }
    }
}
