package dev.tandem.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Document authorization over every transport: who may read, create, write, delete and resolve
 * per type ({@code tandem.documents.types.TYPE.access}), and opIds that belong to their author.
 * Stock levels here are readable and writable only by users whose {@code locations} claim holds
 * the document's {@code locationId}; everything else has the default rules (delete and resolve:
 * the author or an admin).
 */
class DocumentAccessTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.documents.types.stock_level.access.read.0", "claim:locations=locationId",
                "tandem.documents.types.stock_level.access.create.0", "claim:locations=locationId",
                "tandem.documents.types.stock_level.access.write.0", "claim:locations=locationId",
                "tandem.documents.types.task.strategy", "manual",
                "tandem.documents.types.bin.strategy", "manual",
                "tandem.documents.types.bin.access.read.0", "claim:locations=locationId",
                "tandem.documents.types.bin.access.create.0", "claim:locations=locationId",
                "tandem.documents.types.bin.access.write.0", "claim:locations=locationId"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static WsProbe as(String user, String location, String... roles) throws Exception {
        String token = roles.length == 0
                ? TestGateway.token(user, "acme", Map.of("locations", List.of(location)), Duration.ofHours(1))
                : DevTokens.mint(TestGateway.SECRET, user, "acme", List.of(roles), Map.of("locations", List.of(location)),
                        Duration.ofHours(1), java.util.Optional.empty(), java.util.Optional.empty());
        return ContractProbes.connect(node.ws(), token);
    }

    private static String update(String type, String id, long base, String opId, String body) {
        return "{\"op\":\"doc.update\",\"id\":7,\"docType\":\"" + type + "\",\"docId\":\"" + id + "\",\"baseVersion\":" + base
                + ",\"opId\":\"" + opId + "\"," + body + "}";
    }

    private static JsonNode get(WsProbe c, String type, String id) throws InterruptedException {
        return c.request(8, "{\"op\":\"doc.get\",\"id\":8,\"docType\":\"" + type + "\",\"docId\":\"" + id + "\"}");
    }

    @Test
    void claimRulesGuardReadingCreatingAndWritingOnEveryTransport() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2")) {
            JsonNode created = alice.request(7, update("stock_level", "A@wh-1", 0, "a:1",
                    "\"data\":{\"locationId\":\"wh-1\",\"qty\":5}"));
            assertEquals("applied", created.path("result").asText(), created.toString());
            JsonNode notHis = bob.request(7, update("stock_level", "B@wh-1", 0, "b:1",
                    "\"data\":{\"locationId\":\"wh-1\",\"qty\":1}"));
            assertEquals("rejected", notHis.path("result").asText(), notHis.toString());
            assertEquals("forbidden", notHis.path("code").asText());

            assertEquals("forbidden", get(bob, "stock_level", "A@wh-1").path("code").asText());
            // a document that does not exist is refused the same way: refusals tell nothing
            assertEquals("forbidden", get(bob, "stock_level", "missing@wh-1").path("code").asText());
            assertEquals("forbidden", get(bob, "stock_level", "B@wh-1").path("code").asText());
            assertEquals(5, get(alice, "stock_level", "A@wh-1").path("document").path("data").path("qty").asInt());

            JsonNode write = bob.request(7, update("stock_level", "A@wh-1", 1, "b:2", "\"patch\":{\"inc\":{\"qty\":-5}}"));
            assertEquals("forbidden", write.path("code").asText(), write.toString());
            JsonNode sync = bob.request(9, "{\"op\":\"sync\",\"id\":9,\"ops\":[{\"docType\":\"stock_level\",\"docId\":"
                    + "\"A@wh-1\",\"baseVersion\":1,\"opId\":\"b:3\",\"patch\":{\"set\":{\"qty\":0}}}]}");
            assertEquals("forbidden", sync.path("results").get(0).path("code").asText(), sync.toString());
            // moving a document out of one's own scope is a write the result must pass too
            JsonNode away = alice.request(7, update("stock_level", "A@wh-1", 1, "a:2",
                    "\"patch\":{\"set\":{\"locationId\":\"wh-2\"}}"));
            assertEquals("forbidden", away.path("code").asText(), away.toString());
            assertEquals(1, get(alice, "stock_level", "A@wh-1").path("document").path("version").asInt(),
                    "nothing was written");

            assertEquals("forbidden", bob.request(10, "{\"op\":\"subscribe\",\"id\":10,\"channel\":\"doc:stock_level:A@wh-1\"}")
                    .path("code").asText());
            assertEquals("forbidden", bob.request(11, "{\"op\":\"subscribe\",\"id\":11,\"channel\":\"doc:stock_level:A@wh-1\","
                    + "\"snapshot\":true}").path("code").asText());
            JsonNode query = bob.request(12, "{\"op\":\"doc.query\",\"id\":12,\"docType\":\"stock_level\","
                    + "\"where\":{\"locationId\":\"wh-1\"}}");
            assertEquals(0, query.path("documents").size(), "filtered: " + query);
            assertEquals(1, alice.request(13, "{\"op\":\"doc.query\",\"id\":13,\"docType\":\"stock_level\","
                    + "\"where\":{\"locationId\":\"wh-1\"}}").path("documents").size());

            // services act for the tenant
            var rest = node.get("/api/v1/documents/stock_level/A@wh-1", TestGateway.token("erp", "acme", "service"));
            assertEquals(200, rest.statusCode(), rest.body());
        }
    }

    @Test
    void aSubscriberLosesADocumentThatMovesOutOfItsScope() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe admin = as("root", "*", "admin")) {
            alice.request(7, update("stock_level", "M@wh-1", 0, "a:m1", "\"data\":{\"locationId\":\"wh-1\",\"qty\":1}"));
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:stock_level:M@wh-1\"}");
            JsonNode moved = admin.request(7, update("stock_level", "M@wh-1", 1, "r:1",
                    "\"patch\":{\"set\":{\"locationId\":\"wh-9\",\"secret\":\"s\"}}"));
            assertEquals("applied", moved.path("result").asText(), moved.toString());
            JsonNode notice = alice.expect(f -> f.path("op").asText().equals("error"));
            assertEquals("forbidden", notice.path("code").asText());
            assertTrue(notice.path("message").asText().contains("doc:stock_level:M@wh-1"), notice.toString());
            alice.request(3, "{\"op\":\"ping\",\"id\":3}");
            JsonNode leaked = alice.poll(Duration.ofMillis(200));
            assertTrue(leaked == null || !leaked.toString().contains("secret"), "leaked: " + leaked);
        }
    }

    @Test
    void aRefusedSnapshotSubscribeShowsNobodyAPresenceJoin() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2")) {
            alice.request(7, update("stock_level", "P@wh-1", 0, "a:p1", "\"data\":{\"locationId\":\"wh-1\",\"qty\":1}"));
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:stock_level:P@wh-1\",\"presence\":true}");
            assertEquals("forbidden", bob.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"doc:stock_level:P@wh-1\","
                    + "\"snapshot\":true}").path("code").asText());
            alice.request(4, "{\"op\":\"ping\",\"id\":4}");
            JsonNode seen = alice.poll(Duration.ofMillis(300));
            assertTrue(seen == null || !seen.path("op").asText().equals("presence"), "a presence frame: " + seen);
        }
    }

    @Test
    void deletingAndResolvingBelongToTheAuthorAndAdmins() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2");
             WsProbe admin = as("root", "*", "admin")) {
            alice.request(7, update("note", "del-1", 0, "a:d1", "\"data\":{\"t\":1}"));
            alice.request(7, update("note", "del-2", 0, "a:d2", "\"data\":{\"t\":1}"));
            JsonNode bobs = bob.request(7, update("note", "del-1", 1, "b:d1", "\"patch\":{\"delete\":true}"));
            assertEquals("forbidden", bobs.path("code").asText(), bobs.toString());
            assertFalse(get(alice, "note", "del-1").path("document").path("deleted").asBoolean());
            assertEquals("applied", alice.request(7, update("note", "del-1", 1, "a:d3", "\"patch\":{\"delete\":true}"))
                    .path("result").asText());
            assertEquals("applied", admin.request(7, update("note", "del-2", 1, "r:d1", "\"patch\":{\"delete\":true}"))
                    .path("result").asText());

            // a manual conflict of bob's: alice may not decide it, bob may
            alice.request(7, update("task", "res-1", 0, "a:r1", "\"data\":{\"title\":\"a\"}"));
            alice.request(7, update("task", "res-1", 1, "a:r2", "\"patch\":{\"set\":{\"title\":\"b\"}}"));
            String conflictId = bob.request(7, update("task", "res-1", 1, "b:r1", "\"patch\":{\"set\":{\"title\":\"c\"}}"))
                    .path("conflictId").asText();
            JsonNode refused = alice.request(14, "{\"op\":\"conflict.resolve\",\"id\":14,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"accept_server\"}");
            assertEquals("forbidden", refused.path("code").asText(), refused.toString());
            JsonNode resolved = bob.request(15, "{\"op\":\"conflict.resolve\",\"id\":15,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"accept_local\"}");
            assertEquals("resolved", resolved.path("result").asText(), resolved.toString());
            assertEquals("c", resolved.path("document").path("data").path("title").asText());
        }
    }

    @Test
    void aResolutionIsAWriteJudgedByTheWriteRuleOnWhatItWrites() throws Exception {
        String emptyClaim = TestGateway.token("alice", "acme", Map.of("locations", List.of()), Duration.ofHours(1));
        try (WsProbe alice = as("alice", "wh-1"); WsProbe admin = as("root", "*", "admin");
             WsProbe aliceWithout = ContractProbes.connect(node.ws(), emptyClaim)) {
            alice.request(7, update("bin", "X@wh-1", 0, "a:x1", "\"data\":{\"locationId\":\"wh-1\",\"label\":\"a\"}"));
            admin.request(7, update("bin", "X@wh-1", 1, "r:x1", "\"patch\":{\"set\":{\"label\":\"b\"}}"));
            JsonNode held = alice.request(7, update("bin", "X@wh-1", 1, "a:x2", "\"patch\":{\"set\":{\"label\":\"c\"}}"));
            assertEquals("conflict", held.path("result").asText(), held.toString());
            String conflictId = held.path("conflictId").asText();

            // her own conflict, but the merge moves the document out of her locations
            JsonNode moved = alice.request(14, "{\"op\":\"conflict.resolve\",\"id\":14,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"merge\",\"data\":{\"locationId\":\"wh-2\",\"label\":\"c\"}}");
            assertEquals("forbidden", moved.path("code").asText(), moved.toString());
            // a token whose claim lists no location may not write it at all
            JsonNode empty = aliceWithout.request(15, "{\"op\":\"conflict.resolve\",\"id\":15,\"conflictId\":\""
                    + conflictId + "\",\"resolution\":\"accept_local\"}");
            assertEquals("forbidden", empty.path("code").asText(), empty.toString());
            JsonNode doc = get(alice, "bin", "X@wh-1").path("document");
            assertEquals(2, doc.path("version").asInt(), "nothing was written: " + doc);
            assertEquals("wh-1", doc.path("data").path("locationId").asText());

            // within her scope the resolution goes through, once
            JsonNode resolved = alice.request(16, "{\"op\":\"conflict.resolve\",\"id\":16,\"conflictId\":\""
                    + conflictId + "\",\"resolution\":\"accept_local\"}");
            assertEquals("resolved", resolved.path("result").asText(), resolved.toString());
            assertEquals("c", resolved.path("document").path("data").path("label").asText());
        }
    }

    @Test
    void oneUserCannotSpendAnothersOpId() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2")) {
            alice.request(7, update("note", "theft", 0, "alice-phone:1", "\"data\":{\"n\":1}"));
            // bob guesses alice's next opId and sends it first
            assertEquals("applied", bob.request(7, update("note", "theft", 1, "alice-phone:2",
                    "\"patch\":{\"set\":{\"bob\":true}}")).path("result").asText());
            JsonNode hers = alice.request(7, update("note", "theft", 2, "alice-phone:2", "\"patch\":{\"set\":{\"n\":2}}"));
            assertEquals("applied", hers.path("result").asText(), "alice's edit is not a duplicate: " + hers);
            JsonNode doc = get(alice, "note", "theft").path("document");
            assertEquals(2, doc.path("data").path("n").asInt());
            assertEquals("alice", doc.path("createdBy").asText());
        }
    }
}
