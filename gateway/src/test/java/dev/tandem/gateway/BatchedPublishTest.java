package dev.tandem.gateway;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A namespace configured with {@code batch-max-delay} holds its publications for the delay on a
 * real node, and they reach the subscriber in order with their offsets; other namespaces do not
 * wait.
 */
class BatchedPublishTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.channels.namespaces.ticker.subscribe", "any",
                "tandem.channels.namespaces.ticker.batch-max-delay", "PT1S",
                "tandem.channels.namespaces.ticker.batch-max-size", "100"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static boolean isEvent(JsonNode f) {
        return f.path("op").asText().equals("event");
    }

    @Test
    void aBatchedNamespacesPublicationsWaitForTheDelayAndArriveInOrder() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("u1", "t-batch"))) {
            assertEquals("reply", c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"ticker:t1\"}").path("op").asText());
            long start = System.nanoTime();
            node.publish("t-batch", "ticker:t1", "tick", "{\"i\":1}");
            node.publish("t-batch", "ticker:t1", "tick", "{\"i\":2}");
            JsonNode first = c.expect(BatchedPublishTest::isEvent);
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            JsonNode second = c.expect(BatchedPublishTest::isEvent);
            assertTrue(waitedMillis >= 900, "held for the namespace's one-second delay, not " + waitedMillis + " ms");
            assertEquals(1, first.path("offset").asLong());
            assertEquals(2, second.path("offset").asLong());
            assertEquals(first.path("epoch").asText(), second.path("epoch").asText());
            assertEquals(2, second.path("data").path("i").asInt());
        }
    }
}
