package dev.tandem.gateway;

import java.net.http.HttpResponse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ObservabilityTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void healthIsUpWithLivenessAndReadiness() throws Exception {
        HttpResponse<String> health = node.get("/health");
        assertEquals(200, health.statusCode());
        JsonNode body = new ObjectMapper().readTree(health.body());
        assertEquals("UP", body.path("status").asText());
        assertEquals(200, node.get("/health/live").statusCode());
        HttpResponse<String> ready = node.get("/health/ready");
        assertEquals(200, ready.statusCode());
        assertTrue(ready.body().contains("\"connections\""), ready.body());
        for (String part : new String[] {"\"name\":\"database\",\"status\":\"UP\"",
                "\"name\":\"redis\",\"status\":\"UP\"", "\"name\":\"kafka\",\"status\":\"UP\""}) {
            assertTrue(ready.body().contains(part), "readiness checks each backing part: " + ready.body());
        }
    }

    @Test
    void metricsCountWhatTheEngineDoes() throws Exception {
        // counters are process-wide (other test gateways add to them): compare before and after
        double opened = node.metric("tandem_connections_opened_total", "");
        double subscribes = node.metric("tandem_frames_in_total", "op=\"subscribe\"");
        double eventsOut = node.metric("tandem_frames_out_total", "op=\"event\"");
        double published = node.metric("tandem_publications_total", "namespace=\"tenant\"");
        double delivered = node.metric("tandem_deliveries_total", "");
        double latencies = node.metric("tandem_publish_to_deliver_seconds_count", "");
        double fanouts = node.metric("tandem_fanout_subscribers_count", "");
        double unknown = node.metric("tandem_errors_total", "code=\"unknown_channel\"");
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            node.publish("acme", "tenant", "t", "{}");
            c.expect(f -> f.path("op").asText().equals("event"));
            c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"nope:1\"}");
            assertEquals(1.0, node.metric("tandem_connections", "scope"));
            assertEquals(opened + 1, node.metric("tandem_connections_opened_total", ""));
            assertEquals(subscribes + 2, node.metric("tandem_frames_in_total", "op=\"subscribe\""));
            assertEquals(eventsOut + 1, node.metric("tandem_frames_out_total", "op=\"event\""));
            assertEquals(published + 1, node.metric("tandem_publications_total", "namespace=\"tenant\""));
            assertEquals(delivered + 1, node.metric("tandem_deliveries_total", ""));
            assertEquals(latencies + 1, node.metric("tandem_publish_to_deliver_seconds_count", ""));
            assertEquals(fanouts + 1, node.metric("tandem_fanout_subscribers_count", ""));
            assertEquals(unknown + 1, node.metric("tandem_errors_total", "code=\"unknown_channel\""));
            HttpResponse<String> res = node.get("/metrics");
            assertEquals(200, res.statusCode());
            assertTrue(res.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
            String m = res.body();
            for (String expected : new String[] {
                    "tandem_connections{scope=\"application\",} 1.0",
                    "tandem_connections_opened_total",
                    "tandem_frames_in_total{op=\"subscribe\"",
                    "tandem_frames_in_total{op=\"connect\"",
                    "tandem_frames_out_total{op=\"event\"",
                    "tandem_publications_total{kind=\"durable\",namespace=\"tenant\"",
                    "tandem_deliveries_total",
                    "tandem_publish_to_deliver_seconds_bucket",
                    "tandem_fanout_subscribers_bucket",
                    "tandem_slow_consumer_closes_total",
                    "tandem_errors_total{code=\"unknown_channel\""}) {
                assertTrue(m.contains(expected), "missing " + expected);
            }
        }
    }

    /**
     * Every end of a connection is counted under the code it ended with: a clean close by the
     * client (1000), a close by the server (4003 for an expired token), a connection dropped
     * without a close (1006), an event stream whose client left; never under 0.
     */
    @Test
    void connectionsClosedAreCountedByTheCodeTheyEndedWith() throws Exception {
        double clean = node.metric("tandem_connections_closed_total", "code=\"1000\"");
        double expired = node.metric("tandem_connections_closed_total", "code=\"4003\"");
        double dropped = node.metric("tandem_connections_closed_total", "code=\"1006\"");
        double none = node.metric("tandem_connections_closed_total", "code=\"0\"");
        double messages = node.metric("tandem_tenant_messages_total", "tenant=\"_other\"");
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.request(2, "{\"op\":\"ping\",\"id\":2}");
        }
        LimitsTest.waitFor(() -> metric("tandem_connections_closed_total", "code=\"1000\"") == clean + 1);
        assertEquals(messages + 1, node.metric("tandem_tenant_messages_total", "tenant=\"_other\""),
                "the ping counts as one of the tenant's messages (acme is not in tandem.metrics.tenants)");
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("bob", "acme", java.util.Map.of(),
                java.time.Duration.ofSeconds(2)))) {
            assertEquals(4003, c.closeCode());
        }
        LimitsTest.waitFor(() -> metric("tandem_connections_closed_total", "code=\"4003\"") == expired + 1);
        RawWebSocket raw = RawWebSocket.open(node.gateway.port());
        raw.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("carol", "acme") + "\"}");
        raw.receiveContaining("\"id\":1");
        raw.cut();
        LimitsTest.waitFor(() -> metric("tandem_connections_closed_total", "code=\"1006\"") >= dropped + 1);
        assertEquals(none, node.metric("tandem_connections_closed_total", "code=\"0\""), "no end is counted under 0");
    }

    private static double metric(String name, String labels) {
        try {
            return node.metric(name, labels);
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void theInboxDepthIsRecordedWhenADeviceSubscribesToItsInbox() throws Exception {
        double depths = node.metric("tandem_inbox_depth_count", "");
        double sum = node.metric("tandem_inbox_depth_sum", "");
        String service = TestGateway.token("erp", "acme", "service");
        for (int i = 0; i < 3; i++) {
            node.post("/api/v1/users/dora/send", service, "{\"type\":\"note\",\"data\":{\"n\":" + i + "}}");
        }
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("dora", "acme"))) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:dora\"}");
        }
        assertEquals(depths + 1, node.metric("tandem_inbox_depth_count", ""));
        assertEquals(sum + 3, node.metric("tandem_inbox_depth_sum", ""), "three unacknowledged messages");
    }
}
