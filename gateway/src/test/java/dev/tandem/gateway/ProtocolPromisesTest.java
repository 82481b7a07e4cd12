package dev.tandem.gateway;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Promises of the protocol that once broke, one test each, over real sockets against a real
 * gateway: each fails without its fix.
 */
class ProtocolPromisesTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.ofEntries(
                Map.entry("tandem.documents.types.task.strategy", "manual"),
                Map.entry("tandem.documents.types.note.strategy", "last-write-wins"),
                Map.entry("tandem.limits.max-sync-ops", "10"),
                Map.entry("tandem.limits.document-ops-per-second", "2"),
                Map.entry("tandem.limits.document-ops-burst", "20"),
                Map.entry("tandem.inbox.max-messages", "3")));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static boolean op(JsonNode f, String op) {
        return f.path("op").asText().equals(op);
    }

    private static WsProbe connect(String user) throws Exception {
        return ContractProbes.connect(node.ws(), TestGateway.token(user, "acme"));
    }

    @Test
    void everyRateLimitedFrameWithAnIdGetsItsOwnError() throws Exception {
        try (TestGateway slow = TestGateway.start(Map.of("tandem.limits.messages-per-second", "1",
                "tandem.limits.burst", "3", "tandem.limits.flood-strikes", "1000"));
             WsProbe c = ContractProbes.connect(slow.ws(), TestGateway.token("alice", "acme"))) {
            int n = 40;
            for (int i = 1; i <= n; i++) {
                c.sendInvalid("{\"op\":\"ping\",\"pad\":{\"id\":7},\"id\":" + (100 + i) + "}");
            }
            Set<Long> answered = new HashSet<>();
            int limited = 0;
            for (int i = 1; i <= n; i++) {
                JsonNode f = c.expect(x -> op(x, "reply") || op(x, "error"));
                assertTrue(answered.add(f.path("id").asLong()), "answered twice: " + f);
                if (op(f, "error")) {
                    assertEquals("rate_limited", f.path("code").asText());
                    limited++;
                }
            }
            assertEquals(n, answered.size());
            assertTrue(answered.stream().allMatch(id -> id > 100 && id <= 100 + n), answered.toString());
            assertTrue(limited >= n - 10, "most were over the rate: " + limited);
        }
    }

    @Test
    void invalidDocumentNamesAreBadRequestsOnBothTransports() throws Exception {
        try (WsProbe c = connect("alice")) {
            for (String ref : List.of("\"docType\":\"no such\",\"docId\":\"x\"", "\"docType\":\"t\",\"docId\":\"a/b\"",
                    "\"docType\":\"\",\"docId\":\"x\"", "\"docType\":\"t\",\"docId\":\"" + "x".repeat(200) + "\"")) {
                JsonNode e = c.request(2, "{\"op\":\"doc.get\",\"id\":2," + ref + "}");
                assertEquals("bad_request", e.path("code").asText(), e.toString());
            }
        }
        String service = TestGateway.token("erp", "acme", "service");
        assertEquals(400, node.get("/api/v1/documents/no%20such/x", service).statusCode());
        assertEquals(400, node.get("/api/v1/documents/t/" + "x".repeat(200), service).statusCode());
        var empty = node.postInvalid("/api/v1/sync", service, "");
        assertEquals(400, empty.statusCode(), empty.body());
        assertTrue(empty.body().contains("bad_request"), empty.body());
        assertEquals(400, node.postInvalid("/api/v1/publish", service, "   ").statusCode());
        assertEquals(400, node.postInvalid("/api/v1/conflicts/x/resolve", service, "[1]").statusCode());
    }

    @Test
    void presenceOnAChannelWithoutPresenceIsRefusedAndSubscribesNothing() throws Exception {
        try (WsProbe c = connect("alice")) {
            JsonNode e = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"presence\":true}");
            assertEquals("bad_request", e.path("code").asText(), e.toString());
            node.publish("acme", "tenant", "after", "{}");
            assertEquals("reply", c.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText());
            assertNull(c.poll(Duration.ofMillis(300)), "nothing subscribed");
            // and it can be subscribed properly afterwards
            assertEquals("reply", c.request(4, "{\"op\":\"subscribe\",\"id\":4,\"channel\":\"tenant\"}").path("op").asText());
        }
    }

    @Test
    void presenceStateMustBeAnObject() throws Exception {
        try (WsProbe c = connect("alice")) {
            c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:note:p1\"}");
            for (String state : List.of("\"away\"", "7", "[1,2]", "true")) {
                JsonNode e = c.requestInvalid(3, "{\"op\":\"presence\",\"id\":3,\"channel\":\"doc:note:p1\",\"state\":" + state + "}");
                assertEquals("bad_request", e.path("code").asText(), state + " -> " + e);
            }
            JsonNode ok = c.request(4, "{\"op\":\"presence\",\"id\":4,\"channel\":\"doc:note:p1\",\"state\":{\"s\":\"away\"}}");
            assertEquals("away", ok.path("member").path("state").path("s").asText(), ok.toString());
        }
    }

    @Test
    void typingIsNotEchoedToTheSendersOwnConnections() throws Exception {
        try (WsProbe tab1 = connect("alice"); WsProbe tab2 = connect("alice"); WsProbe bob = connect("bob")) {
            for (WsProbe p : List.of(tab1, tab2, bob)) {
                p.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:note:typing\"}");
            }
            tab1.request(3, "{\"op\":\"publish\",\"id\":3,\"channel\":\"doc:note:typing\",\"type\":\"typing\","
                    + "\"data\":{\"on\":true},\"ephemeral\":true}");
            JsonNode seen = bob.expect(f -> op(f, "event") && f.path("type").asText().equals("typing"));
            assertEquals("alice", seen.path("from").asText());
            assertTrue(seen.path("ephemeral").asBoolean());
            for (WsProbe own : List.of(tab1, tab2)) {
                own.request(9, "{\"op\":\"ping\",\"id\":9}");
                JsonNode left = own.poll(Duration.ofMillis(200));
                assertTrue(left == null || !op(left, "event"), "echoed to alice: " + left);
            }
        }
    }

    @Test
    void manualConflictNoticesWaitInTheAuthorsInboxForEveryDevice() throws Exception {
        String conflictId;
        try (WsProbe alice = connect("alice"); WsProbe bob = connect("bob")) {
            alice.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"task\",\"docId\":\"inbox-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:1\",\"data\":{\"title\":\"a\"}}");
            alice.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"task\",\"docId\":\"inbox-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:2\",\"patch\":{\"set\":{\"title\":\"b\"}}}");
            // bob is subscribed to nothing: the notice must wait for him
            JsonNode theirs = bob.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"task\",\"docId\":\"inbox-1\","
                    + "\"baseVersion\":1,\"opId\":\"b:1\",\"patch\":{\"set\":{\"title\":\"c\"}}}");
            assertEquals("conflict", theirs.path("result").asText(), theirs.toString());
            conflictId = theirs.path("conflictId").asText();
        }
        for (String device : List.of("laptop", "phone")) {
            try (WsProbe bob = connect("bob")) {
                JsonNode sub = bob.request(5, "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"user:bob\"}");
                assertTrue(sub.path("inbox").asInt() >= 1, device + ": " + sub);
                JsonNode notice = bob.expect(f -> op(f, "conflict"));
                assertEquals(conflictId, notice.path("conflictId").asText());
                assertEquals("user:bob", notice.path("channel").asText());
                assertFalse(notice.path("epoch").asText().isEmpty());
                assertTrue(notice.path("offset").asLong() >= 1);
                assertEquals("task", notice.path("data").path("docType").asText());
                if (device.equals("phone")) {
                    JsonNode ack = bob.request(6, "{\"op\":\"ack\",\"id\":6,\"channel\":\"user:bob\",\"offset\":"
                            + notice.path("offset").asLong() + ",\"epoch\":\"" + notice.path("epoch").asText() + "\"}");
                    assertEquals(0, ack.path("remaining").asInt(), ack.toString());
                }
            }
        }
        try (WsProbe bob = connect("bob")) {
            assertEquals(0, bob.request(7, "{\"op\":\"subscribe\",\"id\":7,\"channel\":\"user:bob\"}").path("inbox").asInt());
        }
    }

    @Test
    void aUserWhoseLastWriteWinsValueWasOverwrittenIsToldWhatWasLost() throws Exception {
        try (WsProbe alice = connect("alice"); WsProbe bob = connect("bob")) {
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:alice\"}");
            alice.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"note\",\"docId\":\"lww-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:10\",\"data\":{\"title\":\"first\"}}");
            alice.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"note\",\"docId\":\"lww-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:11\",\"patch\":{\"set\":{\"title\":\"alice's\"}}}");
            // bob was offline at version 1: his later write wins over alice's value
            JsonNode r = bob.request(5, "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"note\",\"docId\":\"lww-1\","
                    + "\"baseVersion\":1,\"opId\":\"b:10\",\"patch\":{\"set\":{\"title\":\"bob's\"}}}");
            assertEquals("merged", r.path("result").asText(), r.toString());
            JsonNode told = alice.expect(f -> op(f, "event") && f.path("type").asText().equals("doc.overwritten"));
            JsonNode d = told.path("data");
            assertEquals("note", d.path("docType").asText());
            assertEquals("lww-1", d.path("docId").asText());
            assertEquals(3, d.path("version").asInt());
            assertEquals("[\"title\"]", d.path("fields").toString());
            assertEquals("alice's", d.path("lost").path("title").asText());
            assertEquals("bob's", d.path("winning").path("title").asText());
            assertEquals("bob", d.path("by").asText());
            assertTrue(told.path("offset").asLong() >= 1, "durable: kept in alice's inbox");
        }
    }

    @Test
    void aHostileNumberIsRefusedOnWriteAndTheDocumentStaysReadable() throws Exception {
        try (WsProbe c = connect("alice")) {
            String big = "9".repeat(900);
            JsonNode r = c.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"note\",\"docId\":\"num-1\",\"baseVersion\":0,"
                    + "\"opId\":\"n:1\",\"data\":{\"n\":" + big + "}}");
            assertEquals("rejected", r.path("result").asText(), r.toString());
            assertEquals("too_large", r.path("code").asText());
            c.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"note\",\"docId\":\"num-1\",\"baseVersion\":0,"
                    + "\"opId\":\"n:2\",\"data\":{\"n\":" + "9".repeat(100) + "}}");
            for (String delta : List.of("1e-300", "1", "1e400", "1e1000000")) {
                JsonNode inc = c.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"note\",\"docId\":\"num-1\","
                        + "\"baseVersion\":1,\"opId\":\"n:3\",\"patch\":{\"inc\":{\"n\":" + delta + "}}}");
                assertTrue(inc.path("result").asText().equals("rejected") || inc.path("code").asText().equals("bad_request"),
                        delta + " -> " + inc);
            }
            JsonNode doc = c.request(5, "{\"op\":\"doc.get\",\"id\":5,\"docType\":\"note\",\"docId\":\"num-1\"}");
            assertEquals(1, doc.path("document").path("version").asInt(), doc.toString());
            assertEquals("9".repeat(100), doc.path("document").path("data").path("n").toString());
        }
    }

    @Test
    void syncBatchesAreBoundedAndChargedPerOperationOnBothTransports() throws Exception {
        String service = TestGateway.token("erp-" + System.nanoTime(), "acme", "service");
        StringBuilder eleven = new StringBuilder("[");
        for (int i = 1; i <= 11; i++) {
            eleven.append(i > 1 ? "," : "").append("{\"docType\":\"note\",\"docId\":\"batch-").append(i)
                    .append("\",\"baseVersion\":0,\"opId\":\"s:").append(i).append("\",\"data\":{\"i\":").append(i).append("}}");
        }
        eleven.append("]");
        var tooMany = node.post("/api/v1/sync", service, "{\"ops\":" + eleven + "}");
        assertEquals(413, tooMany.statusCode(), tooMany.body());
        try (WsProbe c = connect("sync-" + System.nanoTime())) {
            JsonNode e = c.request(2, "{\"op\":\"sync\",\"id\":2,\"ops\":" + eleven + "}");
            assertEquals("too_large", e.path("code").asText(), e.toString());
            String ten = eleven.toString().replace(",{\"docType\":\"note\",\"docId\":\"batch-11\",\"baseVersion\":0,"
                    + "\"opId\":\"s:11\",\"data\":{\"i\":11}}", "");
            assertEquals(10, c.request(3, "{\"op\":\"sync\",\"id\":3,\"ops\":" + ten + "}").path("results").size());
            assertEquals(10, c.request(4, "{\"op\":\"sync\",\"id\":4,\"ops\":" + ten.replace("s:", "t:") + "}")
                    .path("results").size());
            // the burst (20) is spent: the next batch waits, and nothing of it is applied
            JsonNode limited = c.request(5, "{\"op\":\"sync\",\"id\":5,\"ops\":" + ten.replace("s:", "u:") + "}");
            assertEquals("rate_limited", limited.path("code").asText(), limited.toString());
        }
        var first = node.post("/api/v1/sync", service, "{\"ops\":" + eleven.toString().replace(",{\"docType\":\"note\","
                + "\"docId\":\"batch-11\",\"baseVersion\":0,\"opId\":\"s:11\",\"data\":{\"i\":11}}", "") + "}");
        assertEquals(200, first.statusCode(), first.body());
        node.post("/api/v1/sync", service, "{\"ops\":" + eleven.toString().replace("s:", "v:")
                .replace(",{\"docType\":\"note\",\"docId\":\"batch-11\",\"baseVersion\":0,\"opId\":\"v:11\",\"data\":{\"i\":11}}", "") + "}");
        var limited = node.post("/api/v1/sync", service, "{\"ops\":" + eleven.toString().replace("s:", "w:")
                .replace(",{\"docType\":\"note\",\"docId\":\"batch-11\",\"baseVersion\":0,\"opId\":\"w:11\",\"data\":{\"i\":11}}", "") + "}");
        assertEquals(429, limited.statusCode(), limited.body());
        assertTrue(limited.body().contains("rate_limited"), limited.body());
    }

    @Test
    void aFullInboxDropsItsOldestMessage() throws Exception {
        String user = "inbox-" + System.nanoTime();
        for (int i = 1; i <= 5; i++) {
            var res = node.post("/api/v1/users/" + user + "/send", TestGateway.token("erp", "acme", "service"),
                    "{\"type\":\"note\",\"data\":{\"i\":" + i + "}}");
            assertEquals(200, res.statusCode(), res.body());
        }
        try (WsProbe c = connect(user)) {
            JsonNode sub = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:" + user + "\"}");
            assertEquals(3, sub.path("inbox").asInt(), sub.toString());
            List<Integer> seen = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                seen.add(c.expect(f -> op(f, "event")).path("data").path("i").asInt());
            }
            assertEquals(List.of(3, 4, 5), seen);
        }
    }
}
