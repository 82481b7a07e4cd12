package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fleet controls over real sockets: connection limits per node and per tenant, the idle
 * timeout, the per-user message rate, and the service API that disconnects users and revokes
 * tokens, standalone and across two nodes sharing Redis.
 */
class FleetControlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static String tenant() {
        return "fleet" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
    }

    private static String token(String user, String tenant) {
        return TestGateway.token(user, tenant, Map.of(), Duration.ofHours(1));
    }

    private static String jti(String token) throws Exception {
        String payload = token.split("\\.")[1];
        return JSON.readTree(java.util.Base64.getUrlDecoder().decode(payload)).path("jti").asText();
    }

    private static WsProbe refused(TestGateway node, String token, int code) throws Exception {
        WsProbe p = ContractProbes.open(node.ws());
        p.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
        assertEquals(code, p.closeCode(), "closed with " + code + ": " + p.frames);
        return p;
    }

    @Test
    void aFullNodeClosesWith4030AndATenantOverItsLimitWith4031() throws Exception {
        String acme = tenant();
        String globex = tenant();
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.max-connections", "3",
                "tandem.limits.max-connections-per-tenant", "2",
                "tandem.metrics.tenants", acme))) {
            List<WsProbe> open = new ArrayList<>();
            try {
                open.add(ContractProbes.connect(node.ws(), token("a1", acme)));
                open.add(ContractProbes.connect(node.ws(), token("a2", acme)));
                try (WsProbe third = ContractProbes.open(node.ws())) {
                    third.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token("a3", acme) + "\"}");
                    JsonNode error = third.answer(1);
                    assertEquals("limit_exceeded", error.path("code").asText(), error.toString());
                    assertEquals(4031, third.closeCode());
                }
                assertEquals(2.0, node.metric("tandem_tenant_connections", "tenant=\"" + acme + "\""));
                open.add(ContractProbes.connect(node.ws(), token("g1", globex)));
                assertTrue(node.metric("tandem_tenant_connections", "tenant=\"_other\"") >= 1.0,
                        "tenants not opted in are summed");
                try (WsProbe fourth = ContractProbes.open(node.ws())) {
                    JsonNode bye = fourth.expect(f -> f.path("op").asText().equals("disconnect"));
                    assertTrue(bye.path("reconnect").asBoolean(), "try another node: " + bye);
                    assertEquals(4030, fourth.closeCode());
                }
                open.removeFirst().close();
                Thread.sleep(200);
                // a slot is free again, for the tenant and the node
                open.add(ContractProbes.connect(node.ws(), token("a4", acme)));
            } finally {
                open.forEach(WsProbe::close);
            }
        }
    }

    @Test
    void aConnectionSubscribedToNothingIsClosedWhenIdleAndASubscribedOneIsNot() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.idle-timeout", "PT0.6S",
                "tandem.limits.heartbeat-interval", "PT0.2S"))) {
            try (WsProbe idle = ContractProbes.connect(node.ws(), token("idle", t));
                 WsProbe busy = ContractProbes.connect(node.ws(), token("busy", t))) {
                busy.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                long start = System.nanoTime();
                while (!idle.closed.isDone() && System.nanoTime() - start < 3_000_000_000L) {
                    try {
                        idle.send("{\"op\":\"ping\",\"id\":9}"); // pings do not count as activity
                    } catch (RuntimeException closedMeanwhile) {
                        break;
                    }
                    Thread.sleep(150);
                }
                assertEquals(4011, idle.closeCode());
                assertEquals("reply", busy.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText(),
                        "a subscribed connection stays");
            }
        }
    }

    @Test
    void oneUsersMessagesAreLimitedAcrossAllItsConnections() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.user-messages-per-second", "5",
                "tandem.limits.user-burst", "10"));
             WsProbe phone = ContractProbes.connect(node.ws(), token("kate", t));
             WsProbe laptop = ContractProbes.connect(node.ws(), token("kate", t));
             WsProbe other = ContractProbes.connect(node.ws(), token("liam", t))) {
            int limited = 0;
            for (int i = 0; i < 12; i++) {
                WsProbe p = i % 2 == 0 ? phone : laptop;
                JsonNode r = p.request(100 + i, "{\"op\":\"ping\",\"id\":" + (100 + i) + "}");
                if (r.path("code").asText().equals("rate_limited")) {
                    limited++;
                }
            }
            assertTrue(limited >= 1, "12 messages over two sockets exceed a burst of 10 for one user");
            assertEquals("reply", other.request(5, "{\"op\":\"ping\",\"id\":5}").path("op").asText(),
                    "another user has a budget of its own");
        }
    }

    @Test
    void standaloneDisconnectAndRevocationsCloseTheRightConnectionsAndRevokedTokensStayOut() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start()) {
            exerciseRevocations(node, node, t);
        }
    }

    @Test
    void inAClusterDisconnectsAndRevocationsReachEveryNodeWithinASecond() throws Exception {
        String t = tenant();
        Map<String, String> cluster = new HashMap<>(Map.of("tandem.redis.address", TestServices.redis()));
        Map<String, String> a = new HashMap<>(cluster);
        a.put("tandem.node-id", "node-a");
        Map<String, String> b = new HashMap<>(cluster);
        b.put("tandem.node-id", "node-b");
        try (TestGateway nodeA = TestGateway.start(a); TestGateway nodeB = TestGateway.start(b)) {
            exerciseRevocations(nodeA, nodeB, t);
        }
    }

    /** Calls the service API on {@code api}; the connections live on {@code sockets}. */
    private static void exerciseRevocations(TestGateway api, TestGateway sockets, String t) throws Exception {
        String service = TestGateway.token("ops", t, "service");
        // disconnect: every connection of the user, none of another; the token stays valid
        String maya = token("maya", t);
        try (WsProbe m1 = ContractProbes.connect(sockets.ws(), maya);
             WsProbe m2 = ContractProbes.connect(sockets.ws(), token("maya", t));
             WsProbe noah = ContractProbes.connect(sockets.ws(), token("noah", t))) {
            long start = System.nanoTime();
            HttpResponse<String> res = api.post("/api/v1/users/maya/disconnect", service, "");
            assertEquals(200, res.statusCode(), res.body());
            assertEquals(4005, m1.closeCode());
            assertEquals(4005, m2.closeCode());
            assertTrue(System.nanoTime() - start < 1_500_000_000L, "within a second or so");
            assertNull(noah.poll(Duration.ofMillis(200)), "another user is not touched");
            assertEquals("reply", noah.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText());
        }
        try (WsProbe again = ContractProbes.connect(sockets.ws(), maya)) {
            assertEquals("reply", again.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText(),
                    "a disconnected user may come back");
        }

        // revoke one token by jti: its connection closes, it cannot come back, the user's other token can
        String revoked = token("olga", t);
        String kept = token("olga", t);
        try (WsProbe r = ContractProbes.connect(sockets.ws(), revoked);
             WsProbe k = ContractProbes.connect(sockets.ws(), kept)) {
            HttpResponse<String> res = api.post("/api/v1/revocations", service, "{\"jti\":\"" + jti(revoked)
                    + "\",\"expiresAt\":\"" + Instant.now().plusSeconds(3600) + "\"}");
            assertEquals(200, res.statusCode(), res.body());
            JsonNode bye = r.expect(f -> f.path("op").asText().equals("disconnect"));
            assertEquals(4004, bye.path("code").asInt(), bye.toString());
            assertEquals(4004, r.closeCode());
            assertEquals("reply", k.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText());
        }
        refused(sockets, revoked, 4004).close();
        refused(api, revoked, 4004).close();

        // revoke every token of a user issued before now: all close; a token issued later works
        String p1 = token("pete", t);
        try (WsProbe a = ContractProbes.connect(sockets.ws(), p1);
             WsProbe b = ContractProbes.connect(sockets.ws(), token("pete", t))) {
            Thread.sleep(1_100); // iat has whole seconds: the cutoff must lie after both tokens' iat
            HttpResponse<String> res = api.post("/api/v1/revocations", service, "{\"user\":\"pete\"}");
            assertEquals(200, res.statusCode(), res.body());
            assertEquals(4004, a.closeCode());
            assertEquals(4004, b.closeCode());
        }
        refused(sockets, p1, 4004).close();
        // no pause: a client that fetches a new token at once after 4004 (in the same second as
        // the revocation) is let in
        try (WsProbe fresh = ContractProbes.connect(sockets.ws(), token("pete", t))) {
            assertEquals("reply", fresh.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText(),
                    "a token fetched right after the revocation is accepted");
        }

        // the API refuses what is not a user's business
        assertEquals(403, api.post("/api/v1/users/maya/disconnect", token("maya", t), "").statusCode());
        assertEquals(400, api.postInvalid("/api/v1/revocations", service, "{\"jti\":\"x\",\"user\":\"y\"}").statusCode());
    }
}
