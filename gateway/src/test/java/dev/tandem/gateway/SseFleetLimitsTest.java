package dev.tandem.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SSE streams are connections like WebSockets: they count in {@code tandem_connections}, in the
 * node and tenant connection limits (together with the WebSocket connections), where a stream
 * over a limit gets a {@code disconnect} event with 4030 / 4031 and ends, and a stream subscribed
 * to nothing is closed by the idle timeout with 4011.
 */
class SseFleetLimitsTest {

    private static String tenant() {
        return "ssefl" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
    }

    private static String token(String user, String tenant) {
        return TestGateway.token(user, tenant, Map.of(), Duration.ofHours(1));
    }

    private static void assertEnded(SseClient s, int code, boolean reconnect) throws Exception {
        JsonNode d = s.next("disconnect").data();
        assertEquals(code, d.path("code").asInt(), d.toString());
        assertEquals(reconnect, d.path("reconnect").asBoolean(), d.toString());
        s.ended.get(5, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void streamsCountInTandemConnectionsAndLeaveItWithinAHeartbeatOfTheClientLeaving() throws Exception {
        String t = tenant();
        // a stream the client dropped is noticed at the next write: the heartbeat comment
        try (TestGateway node = TestGateway.start(Map.of("tandem.metrics.tenants", t,
                "tandem.limits.heartbeat-interval", "PT0.5S"))) {
            try (WsProbe ws = ContractProbes.connect(node.ws(), token("ws", t))) {
                assertEquals(1.0, node.metric("tandem_connections", ""));
                try (SseClient s = SseClient.open(node.http() + "/sse?channel=tenant", token("sse", t), Optional.empty())) {
                    s.next("welcome");
                    assertEquals(2.0, node.metric("tandem_connections", ""));
                    assertEquals(2.0, node.metric("tandem_tenant_connections", "tenant=\"" + t + "\""));
                }
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (node.metric("tandem_connections", "") != 1.0 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(1.0, node.metric("tandem_connections", ""));
            }
        }
    }

    @Test
    void aStreamOverTheNodeLimitGetsDisconnect4030AndWebSocketsCountTowardsIt() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.max-connections", "2"))) {
            String t = tenant();
            try (WsProbe ws = ContractProbes.connect(node.ws(), token("a", t));
                 SseClient first = SseClient.open(node.http() + "/sse?channel=tenant", token("b", t), Optional.empty())) {
                first.next("welcome");
                double closedBefore = node.metric("tandem_connections_closed_total", "code=\"4030\"");
                try (SseClient over = SseClient.open(node.http() + "/sse?channel=tenant", token("c", tenant()),
                        Optional.empty())) {
                    assertEquals(200, over.status);
                    assertEnded(over, 4030, true);
                }
                assertEquals(closedBefore + 1, node.metric("tandem_connections_closed_total", "code=\"4030\""));
            }
        }
    }

    @Test
    void aStreamOverTheTenantLimitGetsDisconnect4031AndOtherTenantsAreServed() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.max-connections-per-tenant", "2"))) {
            String t = tenant();
            try (WsProbe ws = ContractProbes.connect(node.ws(), token("a", t));
                 SseClient second = SseClient.open(node.http() + "/sse?channel=tenant", token("b", t), Optional.empty())) {
                second.next("welcome");
                try (SseClient third = SseClient.open(node.http() + "/sse?channel=tenant", token("c", t), Optional.empty())) {
                    assertEnded(third, 4031, true);
                }
                try (SseClient other = SseClient.open(node.http() + "/sse?channel=tenant", token("d", tenant()),
                        Optional.empty())) {
                    assertEquals("d", other.next("welcome").data().path("user").asText());
                }
            }
            // the stream's place is freed when it ends
            try (SseClient again = SseClient.open(node.http() + "/sse?channel=tenant", token("e", t), Optional.empty())) {
                again.next("welcome");
            }
        }
    }

    @Test
    void aStreamSubscribedToNothingIsClosedIdleWith4011AndOneWithAChannelIsNot() throws Exception {
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.idle-timeout", "PT1S"))) {
            String t = tenant();
            try (SseClient busy = SseClient.open(node.http() + "/sse?channel=tenant", token("busy", t), Optional.empty());
                 SseClient idle = SseClient.open(node.http() + "/sse", token("idle", t), Optional.empty())) {
                busy.next("subscribed");
                idle.next("welcome");
                long start = System.nanoTime();
                assertEnded(idle, 4011, false);
                assertTrue(System.nanoTime() - start < 4_000_000_000L, "closed within the timeout and a bit");
                SseClient.Event e = busy.poll(Duration.ofMillis(1500));
                assertNull(e, "the subscribed stream stays open: " + e);
                assertTrue(!busy.ended.isDone());
            }
        }
    }
}
