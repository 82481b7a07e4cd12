package dev.tandem.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

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
 * Every path that hands out document data or ids judges the read rule: {@code doc.query}'s
 * cursor is opaque and tamper-proof, a type's channels carry a change only to its readers, and a
 * {@code doc:} channel replayed from an old offset leaves out versions the subscriber may not read,
 * and a deletion reaches only those who could read the document.
 */
class DocumentReadLeaksTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.documents.types.vault.access.read.0", "claim:locations=locationId",
                "tandem.documents.types.vault.access.create.0", "claim:locations=locationId",
                "tandem.documents.types.vault.access.write.0", "claim:locations=locationId",
                "tandem.documents.types.crate.channels.0", "location:{locationId}",
                "tandem.documents.types.crate.access.read.0", "role:auditor",
                "tandem.documents.types.bin.channels.0", "location:{locationId}",
                "tandem.documents.types.bin.access.read.0", "claim:projects=project",
                "tandem.documents.cursor-secret", "a-cluster-wide-cursor-secret-of-32+chars"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static WsProbe as(String user, String location, String... roles) throws Exception {
        return ContractProbes.connect(node.ws(), DevTokens.mint(TestGateway.SECRET, user, "acme", List.of(roles),
                Map.of("locations", List.of(location)), Duration.ofHours(1), java.util.Optional.empty(),
                java.util.Optional.empty()));
    }

    private static WsProbe inProject(String user, String project) throws Exception {
        return ContractProbes.connect(node.ws(), DevTokens.mint(TestGateway.SECRET, user, "acme", List.of(),
                Map.of("projects", List.of(project), "locations", List.of("wh-6")), Duration.ofHours(1), java.util.Optional.empty(),
                java.util.Optional.empty()));
    }

    private static String create(String type, String id, String opId, String data) {
        return "{\"op\":\"doc.update\",\"id\":7,\"docType\":\"" + type + "\",\"docId\":\"" + id
                + "\",\"baseVersion\":0,\"opId\":\"" + opId + "\",\"data\":" + data + "}";
    }

    private static String query(long id, String field, String value, int limit, String after) {
        return "{\"op\":\"doc.query\",\"id\":" + id + ",\"docType\":\"vault\",\"where\":{\"" + field + "\":\"" + value
                + "\"},\"limit\":" + limit + (after == null ? "" : ",\"after\":\"" + after + "\"") + "}";
    }

    @Test
    void queryCursorsAreOpaqueAndTamperProof() throws Exception {
        try (WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2")) {
            alice.request(7, create("vault", "K1@wh-1", "a:k1", "{\"locationId\":\"wh-1\",\"kind\":\"probe\"}"));
            bob.request(7, create("vault", "K2@wh-2", "b:k2", "{\"locationId\":\"wh-2\",\"kind\":\"probe\"}"));

            JsonNode first = bob.request(10, query(10, "kind", "probe", 1, null));
            assertEquals(0, first.path("documents").size(), "alice's document is not bob's to read: " + first);
            String next = first.path("next").asText();
            assertFalse(next.isEmpty(), first.toString());
            String decoded = new String(Base64.getUrlDecoder().decode(next), StandardCharsets.ISO_8859_1);
            assertFalse(decoded.contains("K1"), "the cursor names no document: " + decoded);
            assertFalse(next.contains("K1"));

            JsonNode second = bob.request(11, query(11, "kind", "probe", 1, next));
            assertEquals("K2@wh-2", second.path("documents").get(0).path("docId").asText(), second.toString());

            char flipped = next.charAt(next.length() / 2) == 'A' ? 'B' : 'A';
            String tampered = next.substring(0, next.length() / 2) + flipped + next.substring(next.length() / 2 + 1);
            assertEquals("bad_request", bob.request(12, query(12, "kind", "probe", 1, tampered)).path("code").asText());
            String forged = Base64.getUrlEncoder().withoutPadding().encodeToString("K1@wh-1".getBytes(StandardCharsets.UTF_8));
            assertEquals("bad_request", bob.request(13, query(13, "kind", "probe", 1, forged)).path("code").asText());
            assertEquals("bad_request", bob.request(14, query(14, "kind", "other", 1, next)).path("code").asText(),
                    "a cursor is good for its own query only");
        }
    }

    @Test
    void aTypesChannelCarriesAChangeOnlyToItsReaders() throws Exception {
        try (WsProbe writer = as("root", "*", "auditor"); WsProbe auditor = as("ann", "wh-5", "auditor");
             WsProbe outsider = as("otto", "wh-5")) {
            auditor.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-5\"}");
            assertEquals("reply", outsider.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-5\"}")
                    .path("op").asText(), "the location channel itself is his");
            JsonNode created = writer.request(7, create("crate", "C-1", "r:c1", "{\"locationId\":\"wh-5\",\"secret\":\"s\"}"));
            assertEquals("applied", created.path("result").asText(), created.toString());
            JsonNode seen = auditor.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("doc.changed", seen.path("type").asText());
            assertEquals("C-1", seen.path("data").path("docId").asText());
            outsider.request(3, "{\"op\":\"ping\",\"id\":3}");
            JsonNode leaked = outsider.poll(Duration.ofMillis(300));
            assertNull(leaked, "a crate is for auditors only: " + leaked);
            // a publication of his own channel still reaches him
            node.publish("acme", "location:wh-5", "note", "{\"n\":1}");
            assertEquals("note", outsider.expect(f -> f.path("op").asText().equals("event")).path("type").asText());
        }
    }

    @Test
    void aDocChannelReplayedFromAnOldOffsetLeavesOutVersionsTheSubscriberMayNotRead() throws Exception {
        try (WsProbe root = as("root", "*"); WsProbe alice = as("alice", "wh-1")) {
            root.request(7, create("vault", "V-1", "r:v1", "{\"locationId\":\"wh-2\",\"secret\":\"then\"}"));
            JsonNode sub = root.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:vault:V-1\"}");
            String epoch = sub.path("epoch").asText();
            assertEquals(1, sub.path("offset").asLong(), "version 1 was published: " + sub);
            long start = 0; // from before version 1
            JsonNode moved = root.request(8, "{\"op\":\"doc.update\",\"id\":8,\"docType\":\"vault\",\"docId\":\"V-1\","
                    + "\"baseVersion\":1,\"opId\":\"r:v2\",\"data\":{\"locationId\":\"wh-1\",\"secret\":\"now\"}}");
            assertEquals("applied", moved.path("result").asText(), moved.toString());
            root.expect(f -> f.path("op").asText().equals("event") && f.path("data").path("version").asInt() == 2);

            JsonNode replayed = alice.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"doc:vault:V-1\",\"since\":"
                    + "{\"epoch\":\"" + epoch + "\",\"offset\":" + start + "}}");
            assertEquals("reply", replayed.path("op").asText(), replayed.toString());
            JsonNode event = alice.expect(f -> f.path("op").asText().equals("event"));
            assertEquals(2, event.path("data").path("version").asInt(), "version 1 was wh-2's: " + event);
            alice.request(4, "{\"op\":\"ping\",\"id\":4}");
            JsonNode more = alice.poll(Duration.ofMillis(300));
            assertTrue(more == null || !more.toString().contains("then"), "leaked: " + more);
        }
    }

    @Test
    void aDeletionReachesOnlyThoseWhoCouldReadTheDocument() throws Exception {
        try (WsProbe red = inProject("rita", "red"); WsProbe blue = inProject("bert", "blue")) {
            assertEquals("reply", red.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-6\"}")
                    .path("op").asText());
            assertEquals("reply", blue.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"location:wh-6\"}")
                    .path("op").asText(), "the location channel itself is his");
            JsonNode created = red.request(7, create("bin", "B-1", "r:b1", "{\"locationId\":\"wh-6\",\"project\":\"red\"}"));
            assertEquals("applied", created.path("result").asText(), created.toString());
            assertEquals("doc.changed", red.expect(f -> f.path("op").asText().equals("event")).path("type").asText());

            JsonNode deleted = red.request(8, "{\"op\":\"doc.update\",\"id\":8,\"docType\":\"bin\",\"docId\":\"B-1\","
                    + "\"baseVersion\":1,\"opId\":\"r:b2\",\"patch\":{\"delete\":true}}");
            assertEquals("applied", deleted.path("result").asText(), deleted.toString());
            JsonNode told = red.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("doc.deleted", told.path("type").asText(), told.toString());
            assertEquals("B-1", told.path("data").path("docId").asText());
            assertTrue(told.path("data").path("deleted").asBoolean(), told.toString());
            assertEquals("red", told.path("data").path("before").path("project").asText(), "judged by what it deleted");

            // a later publication on the channel reaches him: nothing about B-1 came before it
            node.publish("acme", "location:wh-6", "note", "{\"n\":1}");
            JsonNode next = blue.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("note", next.path("type").asText(), "a red bin is not his to know of: " + next);
        }
    }
}
