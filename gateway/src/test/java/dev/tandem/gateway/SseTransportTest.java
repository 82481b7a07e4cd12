package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SSE transport over real HTTP: a stream of events with ids carrying the positions, resumed
 * after a drop with {@code Last-Event-ID} without a gap or a duplicate (also on another node of a
 * cluster), plain POSTs for what the client sends, and the same rules as the WebSocket.
 */
class SseTransportTest {

    private static String tenant() {
        return "sse" + UUID.randomUUID().toString().replace("-", "").substring(0, 8);
    }

    private static String token(String user, String tenant) {
        return TestGateway.token(user, tenant, Map.of("workspaces", List.of("*")), Duration.ofHours(1));
    }

    private static List<Integer> counts(SseClient c, int n) throws Exception {
        List<Integer> seen = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            seen.add(c.next("event").data().path("data").path("n").asInt());
        }
        return seen;
    }

    @Test
    void aStreamResumesAfterADropWithoutGapOrDuplicate() throws Exception {
        try (TestGateway node = TestGateway.start()) {
            resume(node, node, tenant());
        }
    }

    @Test
    void aChannelTheUserMayNotReadIsAnErrorEventNamingItAndTheOtherChannelsAreServed() throws Exception {
        try (TestGateway node = TestGateway.start()) {
            String t = tenant();
            try (SseClient s = SseClient.open(node.http() + "/sse?channel=user:bob&channel=workspace:w-2",
                    token("ann", t), Optional.empty())) {
                s.next("welcome");
                JsonNode error = s.next("error").data();
                assertEquals("forbidden", error.path("code").asText(), error.toString());
                assertEquals("user:bob", error.path("channel").asText(), error.toString());
                assertEquals("workspace:w-2", s.next("subscribed").data().path("channel").asText());
            }
        }
    }

    @Test
    void inAClusterTheStreamResumesOnAnotherNode() throws Exception {
        Map<String, String> a = new HashMap<>(Map.of("tandem.redis.address", TestServices.redis(),
                "tandem.node-id", "sse-a"));
        Map<String, String> b = new HashMap<>(Map.of("tandem.redis.address", TestServices.redis(),
                "tandem.node-id", "sse-b"));
        try (TestGateway nodeA = TestGateway.start(a); TestGateway nodeB = TestGateway.start(b)) {
            resume(nodeA, nodeB, tenant());
        }
    }

    private static void resume(TestGateway first, TestGateway second, String t) throws Exception {
        String token = token("uma", t);
        String lastId;
        try (SseClient s = SseClient.open(first.http() + "/sse?channel=workspace:w-1", token, Optional.empty())) {
            assertEquals(200, s.status);
            JsonNode welcome = s.next("welcome").data();
            assertEquals("uma", welcome.path("user").asText());
            JsonNode subscribed = s.next("subscribed").data();
            assertEquals("workspace:w-1", subscribed.path("channel").asText());
            for (int i = 1; i <= 3; i++) {
                first.publish(t, "workspace:w-1", "count", "{\"n\":" + i + "}");
            }
            assertEquals(List.of(1, 2, 3), counts(s, 3));
            lastId = s.lastId();
        }
        // dropped: published meanwhile
        for (int i = 4; i <= 6; i++) {
            first.publish(t, "workspace:w-1", "count", "{\"n\":" + i + "}");
        }
        try (SseClient s = SseClient.open(second.http() + "/sse?channel=workspace:w-1", token, Optional.of(lastId))) {
            JsonNode subscribed = s.next("subscribed").data();
            assertTrue(subscribed.path("recovered").asBoolean(), subscribed.toString());
            assertEquals(List.of(4, 5, 6), counts(s, 3), "exactly what was missed, in order");
            second.publish(t, "workspace:w-1", "count", "{\"n\":7}");
            assertEquals(List.of(7), counts(s, 1), "then live");
        }
    }

    @Test
    void whatTheClientSendsGoesThroughPlainPostsUnderTheSameRules() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start();
             SseClient s = SseClient.open(node.http() + "/sse?channel=doc:note:n-1", token("vera", t), Optional.empty())) {
            s.next("subscribed");
            HttpResponse<String> applied = node.post("/sse/send", token("vera", t), "{\"op\":\"doc.update\",\"id\":4,"
                    + "\"docType\":\"note\",\"docId\":\"n-1\",\"baseVersion\":0,\"opId\":\"vera:1\",\"data\":{\"text\":\"hi\"}}");
            assertEquals(200, applied.statusCode(), applied.body());
            assertTrue(applied.body().contains("\"result\":\"applied\"") && applied.body().contains("\"id\":4"),
                    applied.body());
            JsonNode changed = s.next("event").data();
            assertEquals("doc.changed", changed.path("type").asText());
            assertEquals("hi", changed.path("data").path("data").path("text").asText());

            HttpResponse<String> forbidden = node.post("/sse/send", token("vera", t),
                    "{\"op\":\"publish\",\"id\":5,\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}");
            assertEquals(403, forbidden.statusCode(), "the channel rules apply: " + forbidden.body());
            assertTrue(forbidden.body().contains("\"code\":\"forbidden\""), forbidden.body());
            assertEquals(401, node.post("/sse/send", null, "{\"op\":\"ping\",\"id\":1}").statusCode());
            assertEquals(400, node.postInvalid("/sse/send", token("vera", t),
                    "{\"op\":\"subscribe\",\"id\":6,\"channel\":\"tenant\"}").statusCode());
        }
    }

    @Test
    void aStreamIsRefusedWithoutATokenAndEndedWhenTheUserIsDisconnected() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start()) {
            try (SseClient none = SseClient.open(node.http() + "/sse", "not-a-token", Optional.empty())) {
                assertEquals(401, none.status);
            }
            try (SseClient s = SseClient.open(node.http() + "/sse?channel=user:walt", token("walt", t),
                    Optional.empty())) {
                s.next("subscribed");
                assertEquals(200, node.post("/api/v1/users/walt/disconnect", TestGateway.token("ops", t, "service"), "")
                        .statusCode());
                JsonNode bye = s.next("disconnect").data();
                assertEquals(4005, bye.path("code").asInt(), bye.toString());
                s.ended.get(5, java.util.concurrent.TimeUnit.SECONDS);
                assertNull(s.poll(Duration.ofMillis(100)));
            }
        }
    }

    @Test
    void aUsersPostsShareTheMessageRate() throws Exception {
        String t = tenant();
        try (TestGateway node = TestGateway.start(Map.of("tandem.limits.messages-per-second", "1",
                "tandem.limits.burst", "5"))) {
            int limited = 0;
            for (int i = 1; i <= 8; i++) {
                HttpResponse<String> r = node.post("/sse/send", token("xena", t), "{\"op\":\"ping\",\"id\":" + i + "}");
                if (r.statusCode() == 429) {
                    assertTrue(r.body().contains("\"code\":\"rate_limited\"") && r.body().contains("\"id\":" + i),
                            r.body());
                    limited++;
                }
            }
            assertTrue(limited >= 2, "8 quick POSTs over a burst of 5: " + limited + " refused");
            assertEquals(200, node.post("/sse/send", token("yuri", t), "{\"op\":\"ping\",\"id\":1}").statusCode(),
                    "another user has a budget of its own");
        }
    }
}
