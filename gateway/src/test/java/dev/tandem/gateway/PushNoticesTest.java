package dev.tandem.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.testing.LocalHttpServer;
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
}
