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
}
