package dev.tandem.gateway;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client whose TCP connection is cut without a WebSocket close frame (Helidon 4.1.2 then tells
 * the listener nothing): its session, its presence and its per-address slot are released at once,
 * not when the next heartbeat write fails.
 */
class DroppedConnectionTest {

    @Test
    void aConnectionCutWithoutACloseFrameEndsItsSessionPresenceAndSlotPromptly() throws Exception {
        // one connection per address, and heartbeats far away: only the drop itself can free the slot
        try (TestGateway node = TestGateway.start(Map.of("tandem.connections-per-address", "2",
                "tandem.limits.heartbeat-interval", "PT60S"));
             WsProbe watcher = ContractProbes.connect(node.ws(), TestGateway.token("watcher", "acme"))) {
            watcher.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:note:room\"}");
            RawWebSocket raw = RawWebSocket.open(node.gateway.port());
            raw.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("dropper", "acme") + "\"}");
            raw.receiveContaining("\"welcome\"");
            raw.send("{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:note:room\"}");
            raw.receiveContaining("\"id\":2");
            JsonNode join = watcher.expect(f -> f.path("op").asText().equals("presence")
                    && f.path("kind").asText().equals("join") && f.path("data").path("user").asText().equals("dropper"));
            assertEquals("doc:note:room", join.path("channel").asText());
            assertEquals(2, node.gateway.engine().sessionCount());
            assertEquals(2, node.gateway.engine().connectionsFrom("127.0.0.1"));

            long cut = System.nanoTime();
            raw.cut();
            JsonNode leave = watcher.expect(f -> f.path("op").asText().equals("presence")
                    && f.path("kind").asText().equals("leave") && f.path("data").path("user").asText().equals("dropper"));
            long leftAfterMs = (System.nanoTime() - cut) / 1_000_000;
            assertEquals("doc:note:room", leave.path("channel").asText());
            assertTrue(leftAfterMs < 3_000, "leave after " + leftAfterMs + " ms");
            LimitsTest.waitFor(() -> node.gateway.engine().sessionCount() == 1);
            LimitsTest.waitFor(() -> node.gateway.engine().connectionsFrom("127.0.0.1") == 1);
            // the freed slot takes a new connection from the same address
            try (WsProbe again = ContractProbes.connect(node.ws(), TestGateway.token("dropper", "acme"))) {
                assertEquals("reply", again.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText());
            }
        }
    }
}
