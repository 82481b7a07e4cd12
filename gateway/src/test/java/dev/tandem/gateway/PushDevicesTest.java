package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device registry over HTTP: who may register, list and remove what, and the answers to bad input. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PushDevicesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SERVICE = TestGateway.token("backend", "acme", "service");
    private static final String OTHER_TENANT_SERVICE = TestGateway.token("backend", "globex", "service");
    private static final String ALICE = TestGateway.token("alice", "acme");
    private static final String BOB = TestGateway.token("bob", "acme");

    private TestGateway gw;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() {
        gw = TestGateway.start(Map.of("tandem.push.max-devices-per-user", "2"));
    }

    @AfterAll
    void stop() {
        gw.close();
        http.close();
    }

    private String endpoint(String path) {
        return "http://127.0.0.1:9/push/" + path; // loopback: allowed in development mode; never called here
    }

    @Test
    void aUserRegistersListsAndRemovesTheirOwnDevicesAndRegisteringAgainIsTheSameDevice() throws Exception {
        PushSubscriber browser = new PushSubscriber();
        JsonNode first = json(gw.post("/api/v1/push/devices", ALICE, browser.registration(endpoint("own-1"))), 200);
        JsonNode again = json(gw.post("/api/v1/push/devices", ALICE, browser.registration(endpoint("own-1"))), 200);
        assertEquals(first.path("id").asText(), again.path("id").asText(), "one device per address");
        assertEquals("webpush", first.path("kind").asText());
        assertEquals("127.0.0.1", first.path("host").asText());
        assertFalse(first.toString().contains("own-1"), "the endpoint is a capability and is not shown: " + first);

        JsonNode list = json(gw.get("/api/v1/push/devices", ALICE), 200);
        assertTrue(list.path("devices").toString().contains(first.path("id").asText()), list.toString());
        assertEquals(404, delete("/api/v1/push/devices/" + first.path("id").asText(), BOB).statusCode(),
                "another user cannot remove it");
        assertEquals(200, delete("/api/v1/push/devices/" + first.path("id").asText(), ALICE).statusCode());
        assertFalse(json(gw.get("/api/v1/push/devices", ALICE), 200).toString().contains(first.path("id").asText()));
    }

    @Test
    void aServiceListsAndRemovesAnyDeviceOfItsTenantOnly() throws Exception {
        String id = json(gw.post("/api/v1/push/devices", BOB, "{\"kind\":\"fcm\",\"token\":\"fcm-token:abc\","
                + "\"platform\":\"android\"}"), 400).path("code").asText();
        assertEquals("bad_request", id, "fcm is not configured on this node");
        String device = json(gw.post("/api/v1/push/devices", BOB,
                new PushSubscriber().registration(endpoint("bob-1"))), 200).path("id").asText();
        JsonNode listed = json(gw.get("/api/v1/push/devices?user=bob", SERVICE), 200);
        assertEquals("bob", listed.path("user").asText());
        assertEquals(device, listed.path("devices").get(0).path("id").asText());
        assertEquals(403, gw.get("/api/v1/push/devices?user=bob", ALICE).statusCode(), "a user lists only their own");
        assertEquals(0, json(gw.get("/api/v1/push/devices?user=bob", OTHER_TENANT_SERVICE), 200).path("devices").size(),
                "another tenant sees nothing");
        assertEquals(404, delete("/api/v1/push/devices/" + device, OTHER_TENANT_SERVICE).statusCode());
        assertEquals(200, delete("/api/v1/push/devices/" + device, SERVICE).statusCode());
        assertEquals(0, json(gw.get("/api/v1/push/devices?user=bob", SERVICE), 200).path("devices").size());
    }

    @Test
    void aUserHasAtMostTheConfiguredNumberOfDevices() throws Exception {
        String carol = TestGateway.token("carol", "acme");
        json(gw.post("/api/v1/push/devices", carol, new PushSubscriber().registration(endpoint("c-1"))), 200);
        json(gw.post("/api/v1/push/devices", carol, new PushSubscriber().registration(endpoint("c-2"))), 200);
        JsonNode third = json(gw.post("/api/v1/push/devices", carol,
                new PushSubscriber().registration(endpoint("c-3"))), 429);
        assertEquals("limit_exceeded", third.path("code").asText(), third.toString());
    }

    @Test
    void anEndpointOffTheAllowListOrMalformedKeysAreRefusedWithTheReason() throws Exception {
        PushSubscriber browser = new PushSubscriber();
        JsonNode internal = json(gw.post("/api/v1/push/devices", ALICE,
                browser.registration("https://metadata.internal.example/latest")), 400);
        assertTrue(internal.path("message").asText().contains("not a push service"), internal.toString());
        JsonNode port = json(gw.post("/api/v1/push/devices", ALICE,
                browser.registration("https://fcm.googleapis.com:8443/fcm/send/x")), 400);
        assertTrue(port.path("message").asText().contains("port"), port.toString());
        JsonNode keys = json(gw.postInvalid("/api/v1/push/devices", ALICE, "{\"kind\":\"webpush\",\"endpoint\":\""
                + endpoint("k") + "\",\"keys\":{\"p256dh\":\"AAAA\",\"auth\":\"" + browser.auth() + "\"}}"), 400);
        assertTrue(keys.path("message").asText().contains("p256dh"), keys.toString());
        JsonNode kind = json(gw.postInvalid("/api/v1/push/devices", ALICE, "{\"kind\":\"pager\"}"), 400);
        assertTrue(kind.path("message").asText().contains("webpush, fcm or apns"), kind.toString());
        assertEquals(401, gw.postInvalid("/api/v1/push/devices", null, browser.registration(endpoint("n"))).statusCode());
    }

    @Test
    void theHistoryIsForServicesAndABadPushIsRefusedBeforeTheMessageIsSent() throws Exception {
        assertEquals(403, gw.get("/api/v1/push/history?user=alice", ALICE).statusCode());
        assertEquals(0, json(gw.get("/api/v1/push/history?user=nobody", SERVICE), 200).path("entries").size());
        JsonNode bad = json(gw.postInvalid("/api/v1/users/dave/send", SERVICE,
                "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"\",\"body\":\"x\"}}"), 400);
        assertTrue(bad.path("message").asText().contains("title"), bad.toString());
        JsonNode when = json(gw.postInvalid("/api/v1/users/dave/send", SERVICE,
                "{\"type\":\"t\",\"data\":1,\"push\":{\"title\":\"x\",\"when\":\"sometimes\"}}"), 400);
        assertTrue(when.path("message").asText().contains("offline, always or never"), when.toString());
        JsonNode state = json(gw.get("/api/v1/sync-state?user=dave", SERVICE), 200);
        assertEquals(0, state.path("inbox").path("depth").asInt(), "nothing was sent: " + state);
        JsonNode key = json(gw.get("/api/v1/push/vapid-key", ALICE), 200);
        assertEquals(key.path("publicKey").asText(), json(gw.get("/api/v1/push/vapid-key", BOB), 200)
                .path("publicKey").asText(), "one key pair per node");
    }

    private HttpResponse<String> delete(String path, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(gw.http() + path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }
}
