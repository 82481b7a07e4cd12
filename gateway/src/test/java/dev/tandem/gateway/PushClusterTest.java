package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.testing.LocalHttpServer;
import dev.tandem.push.webpush.VapidKeys;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two nodes in cluster mode (PostgreSQL, Redis): whether a user is connected is known on every
 * node, and each queued send is sent by one node, however many dispatch.
 */
class PushClusterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String schema = "gw_push_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    private final String tenant = "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);

    @TempDir
    Path dir;

    @AfterEach
    void dropSchema() throws Exception {
        try (Connection c = TestServices.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    private Map<String, String> node(String id, Path vapid) {
        TestServices.Postgres pg = TestServices.postgres();
        Map<String, String> c = new HashMap<>(Map.of("tandem.db.url", pg.jdbcUrl(), "tandem.db.username", pg.user(),
                "tandem.db.password", pg.password(), "tandem.db.schema", schema,
                "tandem.redis.address", TestServices.redis(), "tandem.node-id", id,
                "tandem.push.webpush.vapid-key-file", vapid.toString(), "tandem.push.poll-interval", "PT0.1S"));
        return c;
    }

    @Test
    void aConnectionOnOneNodeKeepsTheOtherFromPushingAndEachSendIsPushedOnce() throws Exception {
        Path vapid = dir.resolve("vapid.jwk");
        VapidKeys.generate().save(vapid);
        String service = TestGateway.token("backend", tenant, "service");
        String alice = TestGateway.token("alice", tenant);
        try (LocalHttpServer pushService = LocalHttpServer.start();
             TestGateway a = TestGateway.start(node("node-a", vapid));
             TestGateway b = TestGateway.start(node("node-b", vapid))) {
            pushService.on("/push/", r -> LocalHttpServer.Reply.of(201));
            assertEquals(JSON.readTree(a.get("/api/v1/push/vapid-key", alice).body()),
                    JSON.readTree(b.get("/api/v1/push/vapid-key", alice).body()), "every node serves the same key");
            for (int i = 1; i <= 3; i++) {
                HttpResponse<String> r = a.post("/api/v1/push/devices", alice,
                        new PushSubscriber().registration(pushService.uri("/push/d-" + i).toString()));
                assertEquals(200, r.statusCode(), r.body());
            }
            try (WsProbe onA = ContractProbes.connect(a.ws(), alice)) {
                onA.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:alice\"}");
                JsonNode sent = JSON.readTree(b.post("/api/v1/users/alice/send", service,
                        "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"body\":\"\"}}").body());
                assertEquals(0, sent.path("push").path("queued").asInt(), "connected to node A, asked on node B: " + sent);
            }
            JsonNode sent = null;
            long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < end) {
                sent = JSON.readTree(b.post("/api/v1/users/alice/send", service,
                        "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"body\":\"\"}}").body());
                if (sent.path("push").path("queued").asInt() > 0) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(3, sent.path("push").path("queued").asInt(), "gone from node A: pushed; " + sent);
            end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (pushService.requests("/push/d-").size() < 3 && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            Thread.sleep(1000); // both nodes dispatch every 100 ms: time enough for a second send
            assertEquals(3, pushService.requests("/push/d-").size(), "three devices, three pushes, never one per node");
            for (int i = 1; i <= 3; i++) {
                assertEquals(1, pushService.requests("/push/d-" + i).size());
            }
            assertTrue(JSON.readTree(a.get("/api/v1/push/history?user=alice", service).body()).path("entries").size() == 3);
        }
    }
}
