package dev.tandem.gateway;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Backend hooks end to end: a real gateway calls a real HTTP server standing in for the
 * application's backend on connect, subscribe, publish and document write, signed with the
 * shared secret; a slow backend and a dead one are refused by default, and neither stalls the
 * sockets that do not need them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackendHooksTest {
    private FakeBackend backend;
    private TestGateway node;

    @BeforeAll
    void start() throws Exception {
        backend = new FakeBackend();
        Map<String, String> config = new HashMap<>(Map.of(
                "tandem.hooks.secret", FakeBackend.SECRET,
                "tandem.hooks.timeout", "PT0.5S",
                "tandem.hooks.connect.url", backend.url("/connect"),
                "tandem.hooks.subscribe.url", backend.url("/subscribe"),
                "tandem.hooks.publish.url", backend.url("/publish"),
                "tandem.hooks.document-write.url", backend.url("/document-write")));
        node = TestGateway.start(config);
    }

    @AfterAll
    void stop() {
        node.close();
        backend.close();
    }

    @BeforeEach
    void allowEverything() {
        for (String path : List.of("/connect", "/subscribe", "/publish", "/document-write")) {
            backend.on(path, body -> FakeBackend.Answer.json("{\"result\":\"allow\"}"));
        }
        backend.calls.clear();
    }

    private static String token(String user) {
        return TestGateway.token(user, "acme", Map.of(), Duration.ofHours(1));
    }

    @Test
    void connectCarriesThePrincipalSignedAndMayAddScopesAndServerSideChannels() throws Exception {
        backend.on("/connect", body -> FakeBackend.Answer.json(body.path("user").asText().equals("alice")
                ? "{\"result\":\"allow\",\"scopes\":{\"locations\":[\"wh-1\"]},\"channels\":[\"location:wh-1\"]}"
                : "{\"result\":\"allow\"}"));
        try (WsProbe alice = ContractProbes.connect(node.ws(), token("alice"))) {
            FakeBackend.Call call = backend.next("/connect");
            assertTrue(call.signed(), "the call carries a valid HMAC signature: " + call.headers());
            assertEquals("alice", call.body().path("user").asText());
            assertEquals("acme", call.body().path("tenant").asText());
            String requestId = call.body().path("requestId").asText();
            assertFalse(requestId.isEmpty());
            assertEquals(requestId, call.headers().get("x-tandem-request-id"));

            // the token had no locations: only the hook's added scope lets this subscribe pass
            JsonNode other = alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-2\"}");
            assertEquals("forbidden", other.path("code").asText(), "only the added location: " + other);
            JsonNode sub = alice.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"location:wh-1\"}");
            assertFalse(sub.path("code").asText().equals("forbidden"), "the hook's scope allows it: " + sub);
            node.publish("acme", "location:wh-1", "stock.updated", "{\"qty\":3}");
            JsonNode event = alice.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("location:wh-1", event.path("channel").asText());
            assertEquals(3, event.path("data").path("qty").asInt());
        }
    }

    @Test
    void aRefusedConnectClosesWithTheBackendsReason() throws Exception {
        backend.on("/connect", body -> FakeBackend.Answer.json("{\"result\":\"refuse\",\"reason\":\"account suspended\"}"));
        try (WsProbe mallory = ContractProbes.open(node.ws())) {
            mallory.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token("mallory") + "\"}");
            JsonNode error = mallory.answer(1);
            assertEquals("forbidden", error.path("code").asText(), error.toString());
            assertTrue(error.path("message").asText().contains("account suspended"), error.toString());
            assertEquals(4001, mallory.closeCode());
        }
    }

    @Test
    void subscribeMayBeRefused() throws Exception {
        backend.on("/subscribe", body -> FakeBackend.Answer.json(body.path("channel").asText().equals("tenant")
                ? "{\"result\":\"refuse\",\"reason\":\"not on your plan\"}" : "{\"result\":\"allow\"}"));
        try (WsProbe bob = ContractProbes.connect(node.ws(), token("bob"))) {
            JsonNode refused = bob.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            assertEquals("forbidden", refused.path("code").asText(), refused.toString());
            assertTrue(refused.path("message").asText().contains("not on your plan"));
            JsonNode ok = bob.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"user:bob\"}");
            assertEquals("reply", ok.path("op").asText(), ok.toString());
            FakeBackend.Call call = backend.next("/subscribe");
            assertEquals("tenant", call.body().path("channel").asText());
        }
    }

    /**
     * Only an explicit {@code allow} allows: a 2xx without a body, {@code {}}, a result the
     * contract does not have, or the right word in the wrong case is a failed call, refused under
     * the default {@code on-failure: refuse}.
     */
    @Test
    void anAnswerThatIsNotAnExplicitAllowIsAFailedCallNotAnAllow() throws Exception {
        for (String answer : List.of("", "{}", "{\"result\":\"deny\"}", "{\"result\":\"REFUSE\"}",
                "{\"result\":\"ALLOW\"}", "{\"result\":true}", "[\"allow\"]")) {
            backend.on("/subscribe", body -> FakeBackend.Answer.json(answer));
            try (WsProbe bob = ContractProbes.connect(node.ws(), token("bob"))) {
                JsonNode refused = bob.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                assertEquals("error", refused.path("op").asText(), "answer " + answer + ": " + refused);
                assertEquals("unavailable", refused.path("code").asText(), "answer " + answer + ": " + refused);
            }
        }
        backend.on("/subscribe", body -> FakeBackend.Answer.json("{\"result\":\"allow\"}"));
        try (WsProbe bob = ContractProbes.connect(node.ws(), token("bob"))) {
            assertEquals("reply", bob.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}")
                    .path("op").asText());
        }
    }

    @Test
    void publishMayBeRewrittenOrRefused() throws Exception {
        backend.on("/publish", body -> FakeBackend.Answer.json(body.path("data").path("text").asText().contains("darn")
                ? "{\"result\":\"allow\",\"data\":{\"text\":\"****\"}}"
                : body.path("data").path("text").asText().equals("spam")
                ? "{\"result\":\"refuse\",\"reason\":\"looks like spam\"}" : "{\"result\":\"allow\"}"));
        String carolToken = TestGateway.token("carol", "acme", Map.of("workspaces", List.of("*")), Duration.ofHours(1));
        String daveToken = TestGateway.token("dave", "acme", Map.of("workspaces", List.of("*")), Duration.ofHours(1));
        try (WsProbe carol = ContractProbes.connect(node.ws(), carolToken);
             WsProbe dave = ContractProbes.connect(node.ws(), daveToken)) {
            dave.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w-1\"}");
            JsonNode ok = carol.request(3, "{\"op\":\"publish\",\"id\":3,\"channel\":\"workspace:w-1\",\"type\":\"chat\","
                    + "\"data\":{\"text\":\"darn it\"}}");
            assertEquals("reply", ok.path("op").asText(), ok.toString());
            JsonNode event = dave.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("****", event.path("data").path("text").asText(), "the backend rewrote it: " + event);
            JsonNode refused = carol.request(4, "{\"op\":\"publish\",\"id\":4,\"channel\":\"workspace:w-1\",\"type\":\"chat\","
                    + "\"data\":{\"text\":\"spam\"}}");
            assertEquals("forbidden", refused.path("code").asText(), refused.toString());
            assertTrue(refused.path("message").asText().contains("looks like spam"));
        }
    }

    @Test
    void aDocumentWriteRefusedByTheBackendIsRejectedWithItsReasonAndTheOpIdStaysUnspent() throws Exception {
        backend.on("/document-write", body -> FakeBackend.Answer.json(
                body.path("change").path("data").path("amount").asInt() > 1000
                        ? "{\"result\":\"refuse\",\"code\":\"credit_limit\",\"reason\":\"over the credit limit\"}"
                        : "{\"result\":\"allow\"}"));
        try (WsProbe erin = ContractProbes.connect(node.ws(), token("erin"))) {
            String order = "{\"op\":\"doc.update\",\"id\":%d,\"docType\":\"order\",\"docId\":\"o-1\",\"baseVersion\":0,"
                    + "\"opId\":\"erin:1\",\"data\":{\"amount\":%d}}";
            JsonNode refused = erin.request(2, String.format(order, 2, 5000));
            assertEquals("rejected", refused.path("result").asText(), refused.toString());
            assertEquals("credit_limit", refused.path("code").asText(), refused.toString());
            assertTrue(refused.toString().contains("over the credit limit"), refused.toString());
            FakeBackend.Call call = backend.next("/document-write");
            assertEquals("order", call.body().path("docType").asText());
            assertEquals("put", call.body().path("change").path("kind").asText());
            assertTrue(call.signed());

            JsonNode missing = erin.request(3, "{\"op\":\"doc.get\",\"id\":3,\"docType\":\"order\",\"docId\":\"o-1\"}");
            assertEquals("not_found", missing.path("code").asText(), "nothing was written: " + missing);
            JsonNode applied = erin.request(4, String.format(order, 4, 500));
            assertEquals("applied", applied.path("result").asText(), "the same opId is still free: " + applied);
        }
    }

    @Test
    void aSlowBackendIsRefusedAfterTheTimeoutWithoutStallingOtherSockets() throws Exception {
        backend.on("/subscribe", body -> new FakeBackend.Answer(200, "{\"result\":\"allow\"}", 3_000));
        try (WsProbe waiting = ContractProbes.connect(node.ws(), token("frank"));
             WsProbe other = ContractProbes.connect(node.ws(), token("grace"))) {
            long start = System.nanoTime();
            waiting.send("{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            // meanwhile another socket that needs no hook is served at once
            Thread.sleep(50);
            long pingStart = System.nanoTime();
            JsonNode pong = other.request(7, "{\"op\":\"ping\",\"id\":7}");
            assertEquals("reply", pong.path("op").asText());
            assertTrue(System.nanoTime() - pingStart < 300_000_000L, "a socket without a hook call is not stalled");
            JsonNode refused = waiting.answer(2);
            long took = (System.nanoTime() - start) / 1_000_000;
            assertEquals("unavailable", refused.path("code").asText(), refused.toString());
            assertTrue(took < 2_000, "refused at the timeout (0.5 s), not when the backend answers (3 s): " + took);
            // and the connection goes on
            assertEquals("reply", waiting.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText());
        }
        assertTrue(node.metric("tandem_hook_calls_total", "outcome=\"failure\"") >= 1, "failures are counted");
        assertTrue(node.metric("tandem_hook_calls_total", "hook=\"subscribe\"") >= 1);
        assertTrue(node.metric("tandem_hook_latency_seconds_count", "hook=\"subscribe\"") >= 1, "calls are timed");
        assertTrue(node.metric("tandem_hook_latency_seconds_sum", "hook=\"subscribe\"") >= 0.45,
                "the refused call waited its 0.5 s timeout");
    }

    @Test
    void aDeadBackendRefusesByDefaultAndAllowsWhenConfiguredSo() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0)) {
            deadPort = s.getLocalPort();
        }
        String dead = "http://127.0.0.1:" + deadPort + "/connect";
        try (TestGateway refusing = TestGateway.start(Map.of("tandem.hooks.secret", FakeBackend.SECRET,
                "tandem.hooks.connect.url", dead));
             TestGateway allowing = TestGateway.start(Map.of("tandem.hooks.secret", FakeBackend.SECRET,
                     "tandem.hooks.connect.url", dead, "tandem.hooks.connect.on-failure", "allow"))) {
            try (WsProbe c = ContractProbes.open(refusing.ws())) {
                c.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token("henry") + "\"}");
                JsonNode error = c.answer(1);
                assertEquals("unavailable", error.path("code").asText(), error.toString());
                JsonNode bye = c.expect(f -> f.path("op").asText().equals("disconnect"));
                assertTrue(bye.path("reconnect").asBoolean(), "a backend outage is worth a retry: " + bye);
                assertEquals(1011, c.closeCode());
            }
            try (WsProbe c = ContractProbes.connect(allowing.ws(), token("henry"))) {
                assertEquals("reply", c.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText());
            }
        }
    }

    @Test
    void aFullBulkheadRefusesAtOnceInsteadOfQueueing() throws Exception {
        try (TestGateway narrow = TestGateway.start(Map.of("tandem.hooks.secret", FakeBackend.SECRET,
                "tandem.hooks.subscribe.url", backend.url("/subscribe"),
                "tandem.hooks.subscribe.max-concurrent", "1",
                "tandem.hooks.subscribe.timeout", "PT3S"))) {
            backend.on("/subscribe", body -> new FakeBackend.Answer(200, "{\"result\":\"allow\"}", 1_500));
            try (WsProbe first = ContractProbes.connect(narrow.ws(), token("kim"));
                 WsProbe second = ContractProbes.connect(narrow.ws(), token("lee"))) {
                first.send("{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                backend.next("/subscribe"); // the first call is in flight
                long start = System.nanoTime();
                JsonNode refused = second.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
                assertEquals("unavailable", refused.path("code").asText(), refused.toString());
                assertTrue(System.nanoTime() - start < 1_000_000_000L, "refused at once, not after the slow call");
                assertEquals("reply", first.answer(2).path("op").asText(), "the call in flight completes");
            }
        }
    }
}
