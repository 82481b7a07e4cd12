package dev.tandem.gateway;

import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LimitsTest {

    @Test
    void subscriptionsPerConnectionAreCapped() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.max-subscriptions", "2"));
             WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            assertEquals("reply", c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}").path("op").asText());
            assertEquals("reply", c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"user:alice\"}").path("op").asText());
            assertEquals("limit_exceeded", c.request(4, "{\"op\":\"subscribe\",\"id\":4,\"channel\":\"doc:t:1\"}").path("code").asText());
            assertEquals("bad_request", c.request(5, "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"tenant\"}").path("code").asText());
            c.request(6, "{\"op\":\"unsubscribe\",\"id\":6,\"channel\":\"tenant\"}");
            assertEquals("reply", c.request(7, "{\"op\":\"subscribe\",\"id\":7,\"channel\":\"doc:t:1\"}").path("op").asText());
        }
    }

    /**
     * One user cannot fill the tenant's channels: their subscriptions across connections are
     * bounded, and once the tenant's cap is reached, users' own inboxes and the application's
     * publications still go through.
     */
    @Test
    void oneUserCannotExhaustTheTenantsChannels() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.channels.max-per-tenant", "20",
                "tandem.limits.max-channels-per-user", "8"));
             WsProbe a1 = ContractProbes.connect(node.ws(), anywhere("alice"));
             WsProbe a2 = ContractProbes.connect(node.ws(), anywhere("alice"))) {
            int id = 10;
            for (int i = 1; i <= 5; i++) {
                assertEquals("reply", a1.request(++id, sub(id, "location:a" + i)).path("op").asText());
            }
            assertEquals("reply", a2.request(++id, sub(id, "location:a5")).path("op").asText(), "the same channel counts once");
            for (int i = 6; i <= 8; i++) {
                assertEquals("reply", a2.request(++id, sub(id, "location:a" + i)).path("op").asText());
            }
            JsonNode ninth = a2.request(++id, sub(id, "location:a9"));
            assertEquals("limit_exceeded", ninth.path("code").asText(), ninth.toString());
            a1.request(++id, "{\"op\":\"unsubscribe\",\"id\":" + id + ",\"channel\":\"location:a1\"}");
            assertEquals("reply", a2.request(++id, sub(id, "location:a9")).path("op").asText(), "released on unsubscribe");
            a1.close();
            // a1 held a2..a5 (a5 also held by a2): a1's going away frees a2..a4
            waitFor(() -> {
                try {
                    return a2.request(900, sub(900, "location:a10")).path("op").asText().equals("reply");
                } catch (Exception e) {
                    return false;
                }
            });

            // the other users fill the tenant's cap (what alice held and left may still be kept
            // in memory with its history: subscribe until the cap refuses)
            List<WsProbe> others = new ArrayList<>();
            try {
                boolean full = false;
                for (String user : List.of("bob", "carol", "dan", "erin")) {
                    WsProbe c = ContractProbes.connect(node.ws(), anywhere(user));
                    others.add(c);
                    for (int i = 0; i < 6 && !full; i++) {
                        JsonNode r = c.request(++id, sub(id, "location:" + user + i));
                        full = r.path("op").asText().equals("error");
                        if (full) {
                            assertEquals("limit_exceeded", r.path("code").asText(), r.toString());
                            assertTrue(r.path("message").asText().contains("the most this node keeps"), r.toString());
                        }
                    }
                }
                assertTrue(full, "the tenant's cap was reached");
                WsProbe eve = ContractProbes.connect(node.ws(), anywhere("eve"));
                others.add(eve);
                JsonNode refused = eve.request(++id, sub(id, "location:eve"));
                assertEquals("limit_exceeded", refused.path("code").asText(), "the tenant's cap: " + refused);
                assertEquals("reply", eve.request(++id, sub(id, "user:eve")).path("op").asText(),
                        "a user's own inbox is never refused for the cap");
                java.net.http.HttpResponse<String> published = node.post("/api/v1/publish",
                        TestGateway.token("erp", "cap", "service"), "{\"channel\":\"location:new\",\"type\":\"x\",\"data\":{}}");
                assertEquals(200, published.statusCode(), "the application's publications are never refused: "
                        + published.body());
            } finally {
                others.forEach(WsProbe::close);
            }
        }
    }

    private static String anywhere(String user) {
        return TestGateway.token(user, "cap", Map.of("locations", List.of("*")), Duration.ofHours(1));
    }

    private static String sub(int id, String channel) {
        return "{\"op\":\"subscribe\",\"id\":" + id + ",\"channel\":\"" + channel + "\"}";
    }

    @Test
    void connectionsPerAddressAreCapped() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.connections-per-address", "2"))) {
            List<WsProbe> open = new ArrayList<>();
            try {
                open.add(ContractProbes.connect(node.ws(), TestGateway.token("a", "acme")));
                open.add(ContractProbes.connect(node.ws(), TestGateway.token("b", "acme")));
                WsProbe third = ContractProbes.open(node.ws());
                open.add(third);
                JsonNode d = third.expect(f -> f.path("op").asText().equals("disconnect"));
                assertEquals(4029, d.path("code").asInt());
                assertEquals(4029, third.closeCode());
                open.getFirst().close();
                waitFor(() -> node.gateway.engine().connectionsFrom("127.0.0.1") == 1);
                open.add(ContractProbes.connect(node.ws(), TestGateway.token("c", "acme")));
                open.get(1).close();
                open.getLast().close();
                waitFor(() -> node.gateway.engine().connectionsFrom("127.0.0.1") == 0);
            } finally {
                open.forEach(WsProbe::close);
            }
        }
    }

    @Test
    void onlyAllowedOriginsMayUpgrade() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.origins", "https://app.example"))) {
            try (WsProbe ok = ContractProbes.open(node.ws(), Map.of("Origin", "https://app.example"))) {
                ok.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("a", "acme") + "\"}");
                ok.expect(f -> f.path("op").asText().equals("welcome"));
            }
            ExecutionException refused = assertThrows(ExecutionException.class, () -> HttpClient.newHttpClient()
                    .newWebSocketBuilder().header("Origin", "https://evil.example").subprotocols("tandem.v1")
                    .buildAsync(node.ws(), new WebSocket.Listener() { }).get());
            assertEquals(403, ((java.net.http.WebSocketHandshakeException) refused.getCause()).getResponse().statusCode());
        }
    }

    @Test
    void aClientOfferingOnlyOtherSubprotocolsIsRefused() throws Exception {
        try (TestGateway node = TestGateway.start()) {
            assertThrows(ExecutionException.class, () -> HttpClient.newHttpClient().newWebSocketBuilder()
                    .subprotocols("mqtt").buildAsync(node.ws(), new WebSocket.Listener() { }).get());
            try (WsProbe plain = ContractProbes.open(node.ws(), Map.of(), List.of())) {
                plain.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("a", "acme") + "\"}");
                plain.expect(f -> f.path("op").asText().equals("welcome"));
            }
        }
    }

    @Test
    void aSlowConsumerIsClosedWithoutHurtingTheOthers() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of(
                "tandem.limits.outbound-queue-messages", "64",
                "tandem.limits.write-timeout", "PT1S",
                "tandem.channels.namespaces.tenant.history-size", "0"))) {
            try (WsProbe slow = ContractProbes.stalled(node.ws(), TestGateway.token("slow", "acme"));
                 WsProbe fast = ContractProbes.connect(node.ws(), TestGateway.token("fast", "acme"))) {
                slow.send("{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                fast.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                waitFor(() -> node.gateway.hub().subscriberCount(
                        new dev.tandem.channel.ChannelKey("acme", dev.tandem.channel.ChannelName.parse("tenant").orElseThrow())) == 2);
                String blob = "\"" + "z".repeat(16 * 1024) + "\"";
                int n = 600;
                double before = node.metric("tandem_slow_consumer_closes_total", "");
                for (int i = 0; i < n; i++) {
                    node.gateway.operations().channels().servicePublish(TestGateway.service("acme"), List.of("tenant"), "blob",
                            node.gateway.codec().parse("{\"i\":" + i + ",\"b\":" + blob + "}"), java.util.Optional.empty());
                    if (i % 32 == 31) {
                        // the healthy client keeps up with what it is sent; only the stalled one falls behind
                        int upTo = i;
                        fast.expect(f -> f.path("op").asText().equals("event") && f.path("data").path("i").asInt() == upTo);
                    }
                }
                fast.expect(f -> f.path("op").asText().equals("event") && f.path("data").path("i").asInt() == n - 1);
                waitFor(() -> node.gateway.engine().sessionCount() == 1);
                assertEquals(before + 1, node.metric("tandem_slow_consumer_closes_total", ""));
            }
        }
    }

    @Test
    void aPeerThatStopsAnsweringPingsIsClosed() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of(
                "tandem.limits.heartbeat-interval", "PT0.5S",
                "tandem.limits.heartbeat-timeout", "PT1S",
                "tandem.limits.write-timeout", "PT0.5S"))) {
            try (WsProbe alive = ContractProbes.connect(node.ws(), TestGateway.token("alive", "acme"));
                 WsProbe dead = ContractProbes.stalled(node.ws(), TestGateway.token("dead", "acme"))) {
                waitFor(() -> node.gateway.engine().sessionCount() == 2);
                waitFor(() -> node.gateway.engine().sessionCount() == 1);
                Thread.sleep(1000);
                assertEquals("reply", alive.request(5, "{\"op\":\"ping\",\"id\":5}").path("op").asText(),
                        "a peer answering pings stays connected");
                assertEquals(1, node.gateway.engine().sessionCount());
            }
        }
    }

    static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 15 s");
            }
            Thread.sleep(20);
        }
    }

}
