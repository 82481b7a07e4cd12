package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Webhooks against a real HTTP server standing in for the backend: presence joins and leaves,
 * and document changes through the outbox, signed; a backend that is down for a while still gets
 * every change afterwards, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebhooksTest {
    private FakeBackend backend;
    private TestGateway node;
    private final AtomicBoolean down = new AtomicBoolean();

    @BeforeAll
    void start() throws Exception {
        backend = new FakeBackend();
        backend.on("/webhooks", body -> down.get() ? new FakeBackend.Answer(503, "", 0)
                : FakeBackend.Answer.json("{}"));
        node = TestGateway.start(Map.of("tandem.webhooks.url", backend.url("/webhooks"),
                "tandem.webhooks.secret", FakeBackend.SECRET,
                "tandem.webhooks.timeout", "PT1S"));
    }

    @AfterAll
    void stop() {
        node.close();
        backend.close();
    }

    /** The events matching of the next webhook call of this kind that has any. */
    private List<JsonNode> nextEvents(String kind, java.util.function.Predicate<JsonNode> match) throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (System.nanoTime() < deadline) {
            FakeBackend.Call c = backend.calls.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
            if (c == null || !c.body().path("webhook").asText().equals(kind)) {
                continue;
            }
            assertTrue(c.signed(), "webhooks are signed: " + c.headers());
            List<JsonNode> found = new ArrayList<>();
            for (JsonNode e : c.body().path("events")) {
                if (match.test(e)) {
                    found.add(e);
                }
            }
            if (!found.isEmpty()) {
                return found;
            }
        }
        throw new AssertionError("no " + kind + " webhook event matched within 15 s");
    }

    private JsonNode nextEvent(String kind, java.util.function.Predicate<JsonNode> match) throws Exception {
        return nextEvents(kind, match).getFirst();
    }

    @Test
    void presenceJoinsAndLeavesReachTheWebhook() throws Exception {
        String token = TestGateway.token("ivy", "acme", Map.of("workspaces", List.of("*")), Duration.ofHours(1));
        try (WsProbe ivy = ContractProbes.connect(node.ws(), token)) {
            JsonNode r = ivy.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w-9\",\"presence\":true}");
            assertEquals("reply", r.path("op").asText(), r.toString());
            JsonNode join = nextEvent("presence", e -> e.path("user").asText().equals("ivy"));
            assertEquals("join", join.path("kind").asText());
            assertEquals("workspace:w-9", join.path("channel").asText());
            assertEquals("acme", join.path("tenant").asText());
        }
        JsonNode leave = nextEvent("presence", e -> e.path("user").asText().equals("ivy")
                && e.path("kind").asText().equals("leave"));
        assertEquals("workspace:w-9", leave.path("channel").asText());
    }

    @Test
    void documentChangesReachTheWebhookAtLeastOnceInOrderAfterAnOutage() throws Exception {
        String token = TestGateway.token("jack", "acme", Map.of(), Duration.ofHours(1));
        try (WsProbe jack = ContractProbes.connect(node.ws(), token)) {
            JsonNode first = jack.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"note\",\"docId\":\"wh-n1\","
                    + "\"baseVersion\":0,\"opId\":\"jack:1\",\"data\":{\"text\":\"one\"}}");
            assertEquals("applied", first.path("result").asText(), first.toString());
            JsonNode event = nextEvent("documents", e -> e.path("subject").asText().equals("note/wh-n1"));
            assertEquals("tandem.document.changed", event.path("type").asText());
            assertEquals(1, event.path("data").path("version").asInt(), event.toString());

            down.set(true);
            for (int v = 1; v <= 3; v++) {
                JsonNode r = jack.request(10 + v, "{\"op\":\"doc.update\",\"id\":" + (10 + v) + ",\"docType\":\"note\","
                        + "\"docId\":\"wh-n1\",\"baseVersion\":" + v + ",\"opId\":\"jack:" + (v + 1) + "\","
                        + "\"data\":{\"text\":\"v" + (v + 1) + "\"}}");
                assertEquals("applied", r.path("result").asText(), r.toString());
            }
            Thread.sleep(1_000); // refused meanwhile: the rows wait in the outbox
            assertTrue(node.metric("tandem_webhooks_backlog", "") >= 3, "the waiting changes are the backlog");
            backend.calls.clear();
            down.set(false);
            List<Integer> versions = new ArrayList<>();
            while (versions.size() < 3) {
                for (JsonNode e : nextEvents("documents", x -> x.path("subject").asText().equals("note/wh-n1")
                        && x.path("data").path("version").asInt() > 1)) {
                    int v = e.path("data").path("version").asInt();
                    if (!versions.contains(v)) {
                        versions.add(v);
                    }
                }
            }
            assertEquals(List.of(2, 3, 4), versions, "every change after the outage, in order");
            LimitsTest.waitFor(() -> {
                try {
                    return node.metric("tandem_webhooks_backlog", "") == 0;
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }
}
