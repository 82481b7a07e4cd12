package dev.tandem.gateway;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A document's history (versions and the audit entries about them) through the service REST
 * API and, for users who may read the document, the {@code doc.history} request; paged with
 * opaque cursors.
 */
class DocumentHistoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.documents.types.ticket.strategy", "manual",
                "tandem.documents.types.vault.access.read.0", "claim:locations=locationId",
                "tandem.documents.types.vault.access.create.0", "claim:locations=locationId",
                "tandem.documents.types.vault.access.write.0", "claim:locations=locationId"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static WsProbe as(String user, String location) throws Exception {
        return ContractProbes.connect(node.ws(), TestGateway.token(user, "acme", Map.of("locations", List.of(location)),
                Duration.ofHours(1)));
    }

    private static String update(String type, String id, long base, String opId, String body) {
        return "{\"op\":\"doc.update\",\"id\":7,\"docType\":\"" + type + "\",\"docId\":\"" + id + "\",\"baseVersion\":" + base
                + ",\"opId\":\"" + opId + "\"," + body + "}";
    }

    @Test
    void mergesResolutionsAndRejectionsAreShownPagedNewestFirst() throws Exception {
        String service = TestGateway.token("erp", "acme", "service");
        try (WsProbe alice = as("alice", "*"); WsProbe bob = as("bob", "*")) {
            alice.request(7, update("ticket", "T-1", 0, "a:1", "\"data\":{\"title\":\"a\",\"n\":1}"));
            alice.request(7, update("ticket", "T-1", 1, "a:2", "\"patch\":{\"set\":{\"title\":\"b\"}}"));
            String conflictId = bob.request(7, update("ticket", "T-1", 1, "b:1", "\"patch\":{\"set\":{\"title\":\"c\"}}"))
                    .path("conflictId").asText();
            JsonNode resolved = bob.request(8, "{\"op\":\"conflict.resolve\",\"id\":8,\"conflictId\":\"" + conflictId
                    + "\",\"resolution\":\"accept_local\"}");
            assertEquals(3, resolved.path("version").asInt(), resolved.toString());

            // the service API: two versions a page, newest first
            List<JsonNode> entries = new ArrayList<>();
            String cursor = null;
            int pages = 0;
            do {
                var res = node.get("/api/v1/documents/ticket/T-1/history?limit=2"
                        + (cursor == null ? "" : "&cursor=" + URLEncoder.encode(cursor, StandardCharsets.UTF_8)), service);
                assertEquals(200, res.statusCode(), res.body());
                JsonNode page = JSON.readTree(res.body());
                page.path("entries").forEach(entries::add);
                cursor = page.path("next").isNull() ? null : page.path("next").asText();
                pages++;
            } while (cursor != null);
            assertEquals(2, pages);
            assertEquals(List.of(3, 2, 1), entries.stream().map(e -> e.path("version").asInt()).toList());
            JsonNode resolve = entries.get(0).path("audit").get(0);
            assertEquals("resolve", resolve.path("action").asText(), entries.get(0).toString());
            assertEquals("accept_local", resolve.path("strategy").asText());
            assertEquals("bob", resolve.path("actor").asText());
            assertEquals("b", resolve.path("before").path("title").asText());
            assertEquals("c", resolve.path("after").path("title").asText());
            assertEquals("c", entries.get(0).path("document").path("data").path("title").asText());
            JsonNode conflict = entries.get(1).path("audit").get(0);
            assertEquals("conflict", conflict.path("action").asText(), entries.get(1).toString());
            assertEquals(List.of("title"), List.of(conflict.path("fields").get(0).asText()));
            assertEquals("alice", entries.get(1).path("document").path("updatedBy").asText());

            // the same over the socket for a reader
            JsonNode ws = alice.request(9, "{\"op\":\"doc.history\",\"id\":9,\"docType\":\"ticket\",\"docId\":\"T-1\"}");
            assertEquals(3, ws.path("entries").size(), ws.toString());
            assertTrue(ws.path("next").isNull());

            var tampered = node.get("/api/v1/documents/ticket/T-1/history?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAA", service);
            assertEquals(400, tampered.statusCode(), tampered.body());
            assertEquals(404, node.get("/api/v1/documents/ticket/none/history", service).statusCode());
        }
    }

    @Test
    void onlyReadersSeeAHistoryAndNeverVersionsTheyMayNotRead() throws Exception {
        try (WsProbe root = as("root", "*"); WsProbe alice = as("alice", "wh-1"); WsProbe bob = as("bob", "wh-2")) {
            root.request(7, update("vault", "V-1", 0, "r:1", "\"data\":{\"locationId\":\"wh-2\",\"secret\":\"then\"}"));
            root.request(7, update("vault", "V-1", 1, "r:2", "\"data\":{\"locationId\":\"wh-1\",\"secret\":\"now\"}"));
            String ask = "{\"op\":\"doc.history\",\"id\":9,\"docType\":\"vault\",\"docId\":\"V-1\"}";
            assertEquals("forbidden", bob.request(9, ask).path("code").asText(), "bob may not read it now");
            JsonNode mine = alice.request(9, ask);
            assertEquals(List.of(2), List.of(mine.path("entries").get(0).path("version").asInt()), mine.toString());
            assertEquals(1, mine.path("entries").size(), "version 1 was wh-2's: " + mine);
            assertFalse(mine.toString().contains("then"));
            assertEquals(2, root.request(9, ask).path("entries").size());
        }
    }
}
