package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.testing.LocalHttpServer;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Web Push end to end over real sockets: the test is the browser (it makes the subscription's keys
 * and decrypts) and the push service (a local HTTP server on loopback, which a development node's
 * allow-list accepts); the gateway is the application server in between.
 */
class PushWebTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SERVICE = TestGateway.token("backend", "acme", "service");
    private static final String ALICE = TestGateway.token("alice", "acme");

    @TempDir
    Path dir;
    private LocalHttpServer pushService;

    @BeforeEach
    void pushService() throws Exception {
        pushService = LocalHttpServer.start();
        pushService.on("/push/", r -> LocalHttpServer.Reply.of(201).with("Location", "/messages/1"));
    }

    @AfterEach
    void stop() {
        pushService.close();
    }

    private Map<String, String> config() {
        Map<String, String> c = new HashMap<>();
        c.put("tandem.documents.db.url", "jdbc:h2:file:" + dir.resolve("tandem"));
        c.put("tandem.push.poll-interval", "PT0.2S");
        c.put("tandem.push.retry.first-delay", "PT0.5S");
        c.put("tandem.push.retry.max-delay", "PT1S");
        return c;
    }

    @Test
    void anOfflineUserGetsTheSendAsAWebPushOnlyTheSubscriptionCanReadSignedWithTheServedKey() throws Exception {
        PushSubscriber browser = new PushSubscriber();
        try (TestGateway gw = TestGateway.start(config())) {
            String publicKey = json(gw.get("/api/v1/push/vapid-key", ALICE)).path("publicKey").asText();
            assertEquals(65, PushSubscriber.unb64(publicKey).length, "an uncompressed P-256 point");
            String id = register(gw, ALICE, browser, "/push/alice-1");

            HttpResponse<String> sent = gw.post("/api/v1/users/alice/send", SERVICE, "{\"type\":\"task.assigned\","
                    + "\"data\":{\"task\":7},\"push\":{\"title\":\"New task\",\"body\":\"Stock count at dock 3\","
                    + "\"url\":\"/tasks/7\",\"tag\":\"task-7\",\"ttl\":600}}");
            assertEquals(200, sent.statusCode(), sent.body());
            assertEquals(1, json(sent).path("push").path("queued").asInt(), sent.body());

            LocalHttpServer.Request push = awaitRequests("/push/alice-1", 1).getFirst();
            assertEquals("POST", push.method());
            assertEquals("aes128gcm", push.header("Content-Encoding"));
            int ttl = Integer.parseInt(push.header("TTL"));
            assertTrue(ttl > 590 && ttl <= 600, "what is left of the 600 s asked for: " + ttl);
            assertNotNull(push.header("Topic"), "a tagged notification replaces the older one at the push service");
            JsonNode shown = JSON.readTree(browser.decrypt(push.body()));
            assertEquals("New task", shown.path("title").asText());
            assertEquals("Stock count at dock 3", shown.path("body").asText());
            assertEquals("/tasks/7", shown.path("url").asText());
            assertEquals("task-7", shown.path("tag").asText());
            JsonNode claims = JSON.readTree(PushSubscriber.verifyVapid(push.header("Authorization"), publicKey,
                    "http://127.0.0.1:" + pushService.port()));
            long exp = claims.path("exp").asLong();
            assertTrue(exp > Instant.now().getEpochSecond() && exp <= Instant.now().plus(Duration.ofHours(24))
                    .getEpochSecond(), "exp within 24 h: " + claims);
            assertTrue(claims.path("sub").asText().startsWith("mailto:"), claims.toString());

            JsonNode history = await(gw, () -> history(gw, "alice"), h -> h.path("entries").size() == 1);
            JsonNode entry = history.path("entries").get(0);
            assertEquals("delivered", entry.path("outcome").asText(), history.toString());
            assertEquals(id, entry.path("deviceId").asText());
            assertEquals("webpush", entry.path("kind").asText());
            assertEquals(201, entry.path("status").asInt());
            assertTrue(gw.metric("tandem_push_sends_total", "outcome=\"delivered\"") >= 1, "counted per outcome");
        }
    }

    @Test
    void aUserWhoIsConnectedGetsTheMessageLiveAndNoPushUnlessTheSendSaysAlways() throws Exception {
        PushSubscriber browser = new PushSubscriber();
        try (TestGateway gw = TestGateway.start(config());
             WsProbe alice = ContractProbes.connect(gw.ws(), ALICE)) {
            register(gw, ALICE, browser, "/push/alice-2");
            JsonNode sub = alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:alice\"}");
            assertEquals("user:alice", sub.path("channel").asText(), sub.toString());

            HttpResponse<String> sent = gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"ping\",\"data\":{},\"push\":{\"title\":\"Ping\",\"body\":\"\"}}");
            assertEquals(0, json(sent).path("push").path("queued").asInt(), sent.body());
            alice.expect(f -> "ping".equals(f.path("type").asText()));

            HttpResponse<String> always = gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"ping\",\"data\":{},\"push\":{\"title\":\"Ping\",\"body\":\"\",\"when\":\"always\"}}");
            assertEquals(1, json(always).path("push").path("queued").asInt(), always.body());
            awaitRequests("/push/alice-2", 1);
            Thread.sleep(500);
            assertEquals(1, pushService.requests("/push/alice-2").size(), "only the 'always' send was pushed");

            alice.close();
            JsonNode gone = await(gw, () -> json(gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"ping\",\"data\":{},\"push\":{\"title\":\"Ping\",\"body\":\"\"}}")),
                    r -> r.path("push").path("queued").asInt() == 1);
            assertEquals(1, gone.path("push").path("queued").asInt(), "offline again: pushed");
            awaitRequests("/push/alice-2", 2);
        }
    }

    @Test
    void aUserWithThreeDevicesGetsThreePushesAndNeverWithWhenNever() throws Exception {
        try (TestGateway gw = TestGateway.start(config())) {
            for (int i = 1; i <= 3; i++) {
                register(gw, ALICE, new PushSubscriber(), "/push/many-" + i);
            }
            HttpResponse<String> never = gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"body\":\"\",\"when\":\"never\"}}");
            assertEquals(0, json(never).path("push").path("queued").asInt(), never.body());
            HttpResponse<String> sent = gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"body\":\"\"}}");
            assertEquals(3, json(sent).path("push").path("queued").asInt(), sent.body());
            awaitRequests("/push/many-", 3);
            Thread.sleep(500);
            assertEquals(3, pushService.requests("/push/many-").size(), "one push per device, each once");
        }
    }

    @Test
    void aSubscriptionThePushServiceNoLongerKnowsIsRemoved() throws Exception {
        pushService.on("/push/expired", r -> LocalHttpServer.Reply.of(410));
        try (TestGateway gw = TestGateway.start(config())) {
            String id = register(gw, ALICE, new PushSubscriber(), "/push/expired-1");
            gw.post("/api/v1/users/alice/send", SERVICE, "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"body\":\"\"}}");
            awaitRequests("/push/expired-1", 1);
            JsonNode devices = await(gw, () -> json(gw.get("/api/v1/push/devices", ALICE)),
                    d -> d.path("devices").isEmpty());
            assertEquals(0, devices.path("devices").size(), "a 410 removes the device: " + devices);
            JsonNode entry = history(gw, "alice").path("entries").get(0);
            assertEquals("gone", entry.path("outcome").asText());
            assertEquals(id, entry.path("deviceId").asText());
            assertEquals(410, entry.path("status").asInt());
        }
    }

    @Test
    void aSendQueuedWhenTheNodeStopsIsPushedAfterItStartsAgain() throws Exception {
        pushService.on("/push/later", r -> LocalHttpServer.Reply.of(503).with("Retry-After", "1"));
        PushSubscriber browser = new PushSubscriber();
        try (TestGateway first = TestGateway.start(config())) {
            register(first, ALICE, browser, "/push/later-1");
            first.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"Kept\",\"body\":\"across a restart\"}}");
            awaitRequests("/push/later-1", 1);
        }
        // the node is gone with the send still queued; the push service recovers meanwhile
        pushService.on("/push/later", r -> LocalHttpServer.Reply.of(201));
        int before = pushService.requests("/push/later-1").size();
        try (TestGateway second = TestGateway.start(config())) {
            LocalHttpServer.Request delivered = awaitRequests("/push/later-1", before + 1).getLast();
            assertEquals("Kept", JSON.readTree(browser.decrypt(delivered.body())).path("title").asText());
            JsonNode entry = await(second, () -> history(second, "alice"), h -> h.path("entries").size() == 1)
                    .path("entries").get(0);
            assertEquals("delivered", entry.path("outcome").asText(), entry.toString());
            assertTrue(entry.path("attempts").asInt() >= 2, "the failed attempt before the restart counts: " + entry);
        }
    }

    @Test
    void aNotificationIsKeptOnlyForItsTimeToLive() throws Exception {
        pushService.on("/push/busy", r -> LocalHttpServer.Reply.of(503).with("Retry-After", "2"));
        try (TestGateway gw = TestGateway.start(config())) {
            register(gw, ALICE, new PushSubscriber(), "/push/now-1");
            gw.post("/api/v1/users/alice/send", SERVICE,
                    "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"Now\",\"body\":\"\",\"ttl\":0}}");
            assertEquals("0", awaitRequests("/push/now-1", 1).getFirst().header("TTL"), "now or never: sent once, TTL 0");

            String bob = TestGateway.token("bob", "acme");
            register(gw, bob, new PushSubscriber(), "/push/busy-1");
            gw.post("/api/v1/users/bob/send", SERVICE,
                    "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"Soon\",\"body\":\"\",\"ttl\":1}}");
            JsonNode entry = await(gw, () -> history(gw, "bob"), h -> h.path("entries").size() == 1)
                    .path("entries").get(0);
            assertEquals("expired", entry.path("outcome").asText(), "the retry came after its second: " + entry);
            assertEquals(1, pushService.requests("/push/busy-1").size());
        }
    }

    // ------------------------------------------------------------------ helpers

    private String register(TestGateway gw, String token, PushSubscriber browser, String path) throws Exception {
        HttpResponse<String> r = gw.post("/api/v1/push/devices", token, browser.registration(pushService.uri(path).toString()));
        assertEquals(200, r.statusCode(), r.body());
        return json(r).path("id").asText();
    }

    private static JsonNode history(TestGateway gw, String user) throws Exception {
        HttpResponse<String> r = gw.get("/api/v1/push/history?user=" + user, SERVICE);
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    private List<LocalHttpServer.Request> awaitRequests(String prefix, int n) throws InterruptedException {
        awaitTrue(() -> pushService.requests(prefix).size() >= n, "the push service to get " + n + " requests on " + prefix);
        return pushService.requests(prefix);
    }

    interface Read {
        JsonNode read() throws Exception;
    }

    private static JsonNode await(TestGateway gw, Read read, java.util.function.Predicate<JsonNode> done) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        JsonNode last = read.read();
        while (!done.test(last) && System.nanoTime() < end) {
            Thread.sleep(100);
            last = read.read();
        }
        assertTrue(done.test(last), "not reached: " + last);
        return last;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }
}
