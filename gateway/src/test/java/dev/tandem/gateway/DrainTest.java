package dev.tandem.gateway;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DrainTest {

    @Test
    void stoppingTellsClientsToReconnectElsewhereAfterDeliveringWhatWasQueued() throws Exception {
        TestGateway node = TestGateway.start(Map.of());
        try (WsProbe a = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"));
             WsProbe b = ContractProbes.connect(node.ws(), TestGateway.token("bob", "acme"))) {
            a.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            for (int i = 0; i < 20; i++) {
                node.publish("acme", "tenant", "last-words", "{\"i\":" + i + "}");
            }
            Thread stopper = Thread.ofVirtual().start(node::close);
            for (int i = 0; i < 20; i++) {
                assertEquals(i, a.expect(f -> f.path("op").asText().equals("event")).path("data").path("i").asInt());
            }
            for (WsProbe c : new WsProbe[] {a, b}) {
                JsonNode d = c.expect(f -> f.path("op").asText().equals("disconnect"));
                assertEquals(1012, d.path("code").asInt());
                assertTrue(d.path("reconnect").asBoolean());
                assertEquals(1012, c.closeCode());
            }
            stopper.join();
            assertEquals(0, node.gateway.engine().sessionCount());
            assertTrue(!node.gateway.engine().accepting());
        }
    }
}
