package dev.tandem.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Versioned documents end to end over real sockets, on the embedded H2 database (standalone);
 * {@link DocumentsOverSocketsOnPostgresTest} runs the same cases on a real PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DocumentsOverSocketsTest {
    private TestGateway node;

    /** The database settings of the gateway under test (none: its own in-memory H2). */
    Map<String, String> database() {
        return Map.of();
    }

    @BeforeAll
    void start() {
        Map<String, String> config = new java.util.HashMap<>(Map.of(
                "tandem.documents.types.stock_level.counters.0", "qty",
                "tandem.documents.types.stock_level.invariants.0", "qty >= 0",
                "tandem.documents.types.stock_level.channels.0", "location:{locationId}",
                "tandem.documents.types.task.strategy", "manual"));
        config.putAll(database());
        node = TestGateway.start(config);
    }

    @AfterAll
    void stop() {
        node.close();
    }

    private static String token(String user) {
        return TestGateway.token(user, "acme", Map.of("locations", List.of("*")), Duration.ofHours(1));
    }

    private static String inc(String opId, int delta) {
        return "{\"docType\":\"stock_level\",\"docId\":\"A-1@wh-7\",\"baseVersion\":1,\"opId\":\"" + opId
                + "\",\"patch\":{\"inc\":{\"qty\":" + delta + "}}}";
    }

    @Test
    void twoOfflineClientsReplayTheirCountersInEitherOrderTwiceAndTheSumIsExact() throws Exception {
        try (WsProbe a = ContractProbes.connect(node.ws(), token("alice"));
             WsProbe b = ContractProbes.connect(node.ws(), token("bob"));
             WsProbe watcher = ContractProbes.connect(node.ws(), token("carol"))) {
            watcher.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-7\"}");
            JsonNode created = a.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"stock_level\",\"docId\":\"A-1@wh-7\","
                    + "\"baseVersion\":0,\"opId\":\"seed:1\",\"data\":{\"qty\":100,\"locationId\":\"wh-7\"}}");
            assertEquals("applied", created.path("result").asText(), created.toString());
            assertEquals(1, created.path("version").asInt());
            JsonNode changed = watcher.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("doc.changed", changed.path("type").asText());
            assertEquals(100, changed.path("data").path("data").path("qty").asInt());

            String queueA = "[" + inc("dev-a:1", -3) + "," + inc("dev-a:2", -4) + "]";
            String queueB = "[" + inc("dev-b:1", 5) + "," + inc("dev-b:2", -1) + "]";
            // b first, then a, then both again in the other order
            for (String[] round : new String[][] {{queueB, queueA}, {queueA, queueB}}) {
                JsonNode r1 = (round[0] == queueA ? a : b).request(10, "{\"op\":\"sync\",\"id\":10,\"ops\":" + round[0] + "}");
                JsonNode r2 = (round[1] == queueA ? a : b).request(11, "{\"op\":\"sync\",\"id\":11,\"ops\":" + round[1] + "}");
                assertEquals(2, r1.path("results").size());
                assertEquals(2, r2.path("results").size());
            }
            JsonNode doc = a.request(20, "{\"op\":\"doc.get\",\"id\":20,\"docType\":\"stock_level\",\"docId\":\"A-1@wh-7\"}");
            assertEquals(100 - 3 - 4 + 5 - 1, doc.path("document").path("data").path("qty").asInt(),
                    "every delta exactly once: " + doc);
            assertEquals(5, doc.path("document").path("version").asInt());
            JsonNode replay = a.request(21, "{\"op\":\"sync\",\"id\":21,\"ops\":" + queueA + "}");
            assertEquals("duplicate", replay.path("results").get(0).path("result").asText());

            JsonNode oversell = b.request(22, "{\"op\":\"doc.update\",\"id\":22,\"docType\":\"stock_level\","
                    + "\"docId\":\"A-1@wh-7\",\"baseVersion\":5,\"opId\":\"dev-b:3\",\"patch\":{\"inc\":{\"qty\":-1000}}}");
            assertEquals("rejected", oversell.path("result").asText());
            assertEquals("constraint", oversell.path("code").asText());
        }
    }

    @Test
    void aManualConflictReachesTheAuthorAndIsResolvedOnceWithAnAuditTrail() throws Exception {
        try (WsProbe a = ContractProbes.connect(node.ws(), token("alice"));
             WsProbe bobPhone = ContractProbes.connect(node.ws(), token("bob"));
             WsProbe bobLaptop = ContractProbes.connect(node.ws(), token("bob"))) {
            bobLaptop.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"user:bob\"}");
            a.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"task\",\"docId\":\"t-1\",\"baseVersion\":0,"
                    + "\"opId\":\"a:1\",\"data\":{\"title\":\"draft\",\"owner\":\"alice\"}}");
            JsonNode mine = a.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"task\",\"docId\":\"t-1\",\"baseVersion\":1,"
                    + "\"opId\":\"a:2\",\"patch\":{\"set\":{\"title\":\"from alice\"}}}");
            assertEquals("applied", mine.path("result").asText());
            JsonNode theirs = bobPhone.request(5, "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"task\",\"docId\":\"t-1\","
                    + "\"baseVersion\":1,\"opId\":\"b:1\",\"patch\":{\"set\":{\"title\":\"from bob\"}}}");
            assertEquals("conflict", theirs.path("result").asText(), theirs.toString());
            String conflictId = theirs.path("conflictId").asText();
            assertTrue(node.metric("tandem_conflicts_total", "strategy=\"manual\"") >= 1,
                    "conflicts are counted by strategy");
            JsonNode notice = bobLaptop.expect(f -> f.path("op").asText().equals("conflict"));
            assertEquals(conflictId, notice.path("conflictId").asText());
            assertTrue(notice.path("data").path("fields").toString().contains("title"), notice.toString());

            JsonNode resolved = bobPhone.request(6, "{\"op\":\"conflict.resolve\",\"id\":6,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"accept_local\"}");
            assertEquals("resolved", resolved.path("result").asText(), resolved.toString());
            assertEquals("from bob", resolved.path("document").path("data").path("title").asText());
            JsonNode twice = bobPhone.request(7, "{\"op\":\"conflict.resolve\",\"id\":7,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"accept_server\"}");
            assertEquals("conflict", twice.path("code").asText());

            var rest = node.get("/api/v1/conflicts/" + conflictId);
            assertEquals(401, rest.statusCode(), "the service API needs a service token");
            var viaService = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(node.http() + "/api/v1/conflicts/" + conflictId))
                    .header("Authorization", "Bearer " + TestGateway.token("erp", "acme", "service")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, viaService.statusCode(), viaService.body());
            assertTrue(viaService.body().contains("\"status\":\"resolved\""), viaService.body());
        }
    }

    @Test
    void theServiceApiSubmitsAnOfflineBatch() throws Exception {
        String service = TestGateway.token("erp", "acme", "service");
        var res = node.post("/api/v1/sync", service, "{\"ops\":[{\"docType\":\"note\",\"docId\":\"n-1\",\"baseVersion\":0,"
                + "\"opId\":\"erp:1\",\"data\":{\"text\":\"hi\"}},{\"docType\":\"note\",\"docId\":\"n-1\",\"baseVersion\":0,"
                + "\"opId\":\"erp:1\",\"data\":{\"text\":\"hi\"}}]}");
        assertEquals(200, res.statusCode(), res.body());
        assertTrue(res.body().contains("\"result\":\"applied\"") && res.body().contains("\"result\":\"duplicate\""),
                res.body());
        assertEquals(400, node.postInvalid("/api/v1/sync", service, "{\"ops\":7}").statusCode());
    }

    @Test
    void aDocumentThatLeavesALocationIsPublishedToTheLocationItLeftAndTheOneItJoined() throws Exception {
        try (WsProbe writer = ContractProbes.connect(node.ws(), token("alice"));
             WsProbe wh7 = ContractProbes.connect(node.ws(), token("carol"));
             WsProbe wh8 = ContractProbes.connect(node.ws(), token("dave"))) {
            wh7.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-77\"}");
            wh8.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-88\"}");
            JsonNode created = writer.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"stock_level\","
                    + "\"docId\":\"M-1\",\"baseVersion\":0,\"opId\":\"move:1\","
                    + "\"data\":{\"qty\":5,\"locationId\":\"wh-77\"}}");
            assertEquals("applied", created.path("result").asText(), created.toString());
            JsonNode first = wh7.expect(f -> f.path("op").asText().equals("event"));
            assertEquals(1, first.path("data").path("version").asInt());

            JsonNode moved = writer.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"stock_level\","
                    + "\"docId\":\"M-1\",\"baseVersion\":1,\"opId\":\"move:2\","
                    + "\"patch\":{\"set\":{\"locationId\":\"wh-88\"}}}");
            assertEquals("applied", moved.path("result").asText(), moved.toString());
            JsonNode left = wh7.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("location:wh-77", left.path("channel").asText());
            assertEquals(2, left.path("data").path("version").asInt(), left.toString());
            assertEquals("wh-88", left.path("data").path("data").path("locationId").asText(),
                    "the old location's subscribers see the document now belongs elsewhere: " + left);
            JsonNode joined = wh8.expect(f -> f.path("op").asText().equals("event"));
            assertEquals(2, joined.path("data").path("version").asInt(), joined.toString());

            writer.request(5, "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"stock_level\","
                    + "\"docId\":\"M-1\",\"baseVersion\":2,\"opId\":\"move:3\",\"patch\":{\"inc\":{\"qty\":1}}}");
            JsonNode third = wh8.expect(f -> f.path("op").asText().equals("event"));
            assertEquals(3, third.path("data").path("version").asInt());
            assertEquals(null, wh7.poll(Duration.ofMillis(300)),
                    "once gone, later changes no longer reach the location it left");
        }
    }
}
