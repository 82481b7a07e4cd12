package dev.tandem.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.testing.KafkaTopics;
import dev.tandem.testing.LocalHttpServer;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The node's own durable notices are pushed when {@code tandem.push.notices} names them. */
class PushNoticesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aManualConflictIsPushedToItsAuthorWhoIsNotFollowingTheirInbox() throws Exception {
        PushSubscriber bobsBrowser = new PushSubscriber();
        try (LocalHttpServer pushService = LocalHttpServer.start();
             TestGateway gw = TestGateway.start(Map.of(
                     "tandem.documents.db.url", "jdbc:h2:file:" + dir.resolve("tandem"),
                     "tandem.documents.types.task.strategy", "manual",
                     "tandem.push.notices", "conflict",
                     "tandem.push.poll-interval", "PT0.2S"));
             WsProbe alice = ContractProbes.connect(gw.ws(), TestGateway.token("alice", "acme"));
             WsProbe bob = ContractProbes.connect(gw.ws(), TestGateway.token("bob", "acme"))) {
            pushService.on("/push/", r -> LocalHttpServer.Reply.of(201));
            assertEquals(200, gw.post("/api/v1/push/devices", TestGateway.token("bob", "acme"),
                    bobsBrowser.registration(pushService.uri("/push/bob").toString())).statusCode());
            alice.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"task\",\"docId\":\"t-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:1\",\"data\":{\"title\":\"draft\"}}");
            alice.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"task\",\"docId\":\"t-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:2\",\"patch\":{\"set\":{\"title\":\"from alice\"}}}");
            JsonNode theirs = bob.request(5, "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"task\",\"docId\":\"t-1\","
                    + "\"baseVersion\":1,\"opId\":\"b:1\",\"patch\":{\"set\":{\"title\":\"from bob\"}}}");
            assertEquals("conflict", theirs.path("result").asText(), theirs.toString());

            long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (pushService.requests("/push/bob").isEmpty() && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            assertEquals(1, pushService.requests("/push/bob").size(), "the conflict's author was pushed once");
            JsonNode shown = JSON.readTree(bobsBrowser.decrypt(pushService.requests("/push/bob").getFirst().body()));
            assertEquals("Your change needs a decision", shown.path("title").asText(), shown.toString());
            assertTrue(shown.path("body").asText().contains("task t-1"), shown.toString());
            assertEquals("conflict-" + theirs.path("conflictId").asText(), shown.path("tag").asText());
            assertTrue(pushService.requests("/push/alice").isEmpty());
        }
    }

    @Test
    void aBackendRejectionIsPushedToTheChangesAuthorAndAConfirmationIsNot() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        PushSubscriber bobsBrowser = new PushSubscriber();
        try (LocalHttpServer pushService = LocalHttpServer.start();
             TestGateway gw = TestGateway.start(Map.of(
                     "tandem.documents.db.url", "jdbc:h2:file:" + dir.resolve("tandem"),
                     "tandem.kafka.bootstrap-servers", TestServices.kafka(),
                     "tandem.kafka.topic-in", "pn.in." + run,
                     "tandem.kafka.topic-dead-letter", "pn.dlq." + run,
                     "tandem.kafka.topic-out", "pn.out." + run,
                     "tandem.kafka.group-id", "pn-" + run,
                     "tandem.push.notices", "rejected",
                     "tandem.push.poll-interval", "PT0.2S"));
             WsProbe bob = ContractProbes.connect(gw.ws(), TestGateway.token("bob", "acme"));
             KafkaProducer<String, String> producer = KafkaTopics.producer()) {
            pushService.on("/push/", r -> LocalHttpServer.Reply.of(201));
            assertEquals(200, gw.post("/api/v1/push/devices", TestGateway.token("bob", "acme"),
                    bobsBrowser.registration(pushService.uri("/push/bob").toString())).statusCode());
            JsonNode written = bob.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"order\",\"docId\":\"o-7\","
                    + "\"baseVersion\":0,\"opId\":\"b:1\",\"data\":{\"qty\":900}}");
            assertEquals("applied", written.path("result").asText(), written.toString());

            // bob is connected but not following his inbox: he counts as not connected
            producer.send(new ProducerRecord<>("pn.in." + run, "acme/order/o-7", answer("conf-1", "confirmed", ""))).get();
            producer.send(new ProducerRecord<>("pn.in." + run, "acme/order/o-7",
                    answer("rej-1", "rejected", ",\"reason\":\"over the credit limit\""))).get();
            long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (pushService.requests("/push/bob").isEmpty() && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            Thread.sleep(500); // a push of the confirmation would have come by now too
            assertEquals(1, pushService.requests("/push/bob").size(), "the rejection alone was pushed, once");
            JsonNode shown = JSON.readTree(bobsBrowser.decrypt(pushService.requests("/push/bob").getFirst().body()));
            assertEquals("Your change was rejected", shown.path("title").asText(), shown.toString());
            assertEquals("order o-7: over the credit limit", shown.path("body").asText(), shown.toString());
            assertEquals("rejected-order-o-7", shown.path("tag").asText());
        }
    }

    private static String answer(String id, String status, String extra) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/erp/orders\",\"type\":\"tandem.change."
                + status + "\",\"tenantid\":\"acme\",\"data\":{\"author\":\"bob\",\"docType\":\"order\","
                + "\"docId\":\"o-7\",\"version\":1,\"opId\":\"b:1\"" + extra + "}}";
    }
}
