package dev.tandem.gateway;

import java.util.ArrayList;
import java.util.HashMap;
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
 * "Load, then follow": a document with the position of its channel
 * ({@code subscribe … snapshot: true}), and the documents of a type filtered by one field, page
 * by page, with the position of the channel they publish to ({@code doc.query}); a client that
 * applies only what came after loses nothing.
 */
class LoadThenFollowTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of(
                "tandem.documents.types.stock_level.counters.0", "qty",
                "tandem.documents.types.stock_level.channels.0", "location:{locationId}",
                "tandem.documents.types.stock_level.channels.1", "tenant"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static WsProbe connect(String user) throws Exception {
        return ContractProbes.connect(node.ws(), TestGateway.token(user, "acme", Map.of("locations", List.of("*")),
                java.time.Duration.ofHours(1)));
    }

    private static boolean op(JsonNode f, String op) {
        return f.path("op").asText().equals(op);
    }

    private static String create(String id, String location, int qty) {
        return "{\"op\":\"doc.update\",\"id\":90,\"docType\":\"stock_level\",\"docId\":\"" + id + "\",\"baseVersion\":0,"
                + "\"opId\":\"seed-" + id + ":1\",\"data\":{\"locationId\":\"" + location + "\",\"qty\":" + qty + "}}";
    }

    private static String inc(String id, long base, String opId, int delta) {
        return "{\"op\":\"doc.update\",\"id\":91,\"docType\":\"stock_level\",\"docId\":\"" + id + "\",\"baseVersion\":" + base
                + ",\"opId\":\"" + opId + "\",\"patch\":{\"inc\":{\"qty\":" + delta + "}}}";
    }

    @Test
    void aSnapshotSubscribeAnswersWithTheDocumentBeforeAnyOfItsEvents() throws Exception {
        try (WsProbe writer = connect("writer"); WsProbe reader = connect("reader")) {
            JsonNode none = reader.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:stock_level:snap-1\","
                    + "\"snapshot\":true}");
            assertTrue(none.has("document") && none.get("document").isNull(), none.toString());
            assertEquals(0, none.path("offset").asLong());
            assertFalse(none.path("epoch").asText().isEmpty());
            writer.request(90, create("snap-1", "wh-7", 5));
            JsonNode created = reader.expect(f -> op(f, "event"));
            assertEquals(1, created.path("data").path("version").asInt());

            for (int i = 1; i <= 3; i++) {
                writer.request(91, inc("snap-1", i, "w:" + i, 1));
            }
            try (WsProbe late = connect("late")) {
                JsonNode snap = late.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"doc:stock_level:snap-1\","
                        + "\"snapshot\":true}");
                JsonNode doc = snap.path("document");
                assertEquals(4, doc.path("version").asInt(), snap.toString());
                assertEquals(8, doc.path("data").path("qty").asInt());
                assertEquals("stock_level", doc.path("docType").asText());
                assertEquals(4, snap.path("offset").asLong(), "the channel's position at the snapshot");
                writer.request(91, inc("snap-1", 4, "w:4", 10));
                JsonNode next = late.expect(f -> op(f, "event"));
                assertEquals(5, next.path("data").path("version").asInt());
                assertEquals(5, next.path("offset").asLong());
                assertEquals(18, next.path("data").path("data").path("qty").asInt());
            }
        }
    }

    @Test
    void aSnapshotIsOnlyForDocumentChannels() throws Exception {
        try (WsProbe c = connect("x")) {
            JsonNode e = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"snapshot\":true}");
            assertEquals("bad_request", e.path("code").asText(), e.toString());
            assertEquals("reply", c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"tenant\"}").path("op").asText(),
                    "nothing was subscribed by the refused frame");
        }
    }

    @Test
    void aQueryPagesThroughADocumentTypeByOneFieldThenTheClientFollowsFromItsPosition() throws Exception {
        try (WsProbe writer = connect("qwriter"); WsProbe client = connect("qclient")) {
            for (int i = 1; i <= 7; i++) {
                writer.request(90, create(String.format("sku-%02d@wh-q", i), "wh-q", i));
            }
            writer.request(90, create("sku-99@wh-other", "wh-other", 1));
            // load: every page, keeping the first page's position
            Map<String, Long> versions = new HashMap<>();
            List<String> order = new ArrayList<>();
            String after = null;
            JsonNode first = null;
            int id = 10;
            do {
                String frame = "{\"op\":\"doc.query\",\"id\":" + id + ",\"docType\":\"stock_level\","
                        + "\"where\":{\"locationId\":\"wh-q\"},\"limit\":3" + (after == null ? "" : ",\"after\":\"" + after + "\"")
                        + "}";
                JsonNode page = client.request(id++, frame);
                assertEquals("stock_level", page.path("docType").asText(), page.toString());
                if (first == null) {
                    first = page;
                }
                assertEquals("location:wh-q", page.path("channel").asText());
                for (JsonNode d : page.path("documents")) {
                    versions.put(d.path("docId").asText(), d.path("version").asLong());
                    order.add(d.path("docId").asText());
                }
                after = page.path("next").isNull() ? null : page.path("next").asText();
                if (after == null) {
                    // a change made while the client was loading the last page
                    writer.request(91, inc("sku-02@wh-q", 1, "late:1", 100));
                }
            } while (after != null);
            assertEquals(List.of("sku-01@wh-q", "sku-02@wh-q", "sku-03@wh-q", "sku-04@wh-q", "sku-05@wh-q",
                    "sku-06@wh-q", "sku-07@wh-q"), order);
            // follow: from the first page's position; what is already held by version is dropped
            JsonNode sub = client.request(50, "{\"op\":\"subscribe\",\"id\":50,\"channel\":\"location:wh-q\",\"since\":"
                    + "{\"epoch\":\"" + first.path("epoch").asText() + "\",\"offset\":" + first.path("offset").asLong() + "}}");
            assertTrue(sub.path("recovered").asBoolean(), sub.toString());
            JsonNode change = client.expect(f -> op(f, "event") && f.path("data").path("docId").asText().equals("sku-02@wh-q")
                    && f.path("data").path("version").asLong() > versions.get("sku-02@wh-q"));
            assertEquals(102, change.path("data").path("data").path("qty").asInt(), change.toString());
        }
    }

    @Test
    void aQueryWithoutAChannelForItsFieldSaysSoAndTheRestApiGivesTheSameBody() throws Exception {
        String service = TestGateway.token("erp", "acme", "service");
        try (WsProbe writer = connect("qw2"); WsProbe viaWs = ContractProbes.connect(node.ws(), service)) {
            writer.request(90, create("n-1@q2", "wh-q2", 42));
            JsonNode ws = viaWs.request(2, "{\"op\":\"doc.query\",\"id\":2,\"docType\":\"stock_level\",\"where\":{\"qty\":42}}");
            assertTrue(ws.path("channel").isNull(), ws.toString());
            assertFalse(ws.has("epoch"));
            assertEquals(1, ws.path("documents").size());
            var rest = node.get("/api/v1/documents/stock_level?where.qty=42", service);
            assertEquals(200, rest.statusCode(), rest.body());
            JsonNode body = node.gateway.codec().parse(rest.body());
            ((com.fasterxml.jackson.databind.node.ObjectNode) ws).remove(List.of("op", "id"));
            assertEquals(ws, body);
            assertEquals(400, node.get("/api/v1/documents/stock_level?limit=5", service).statusCode());
            assertEquals(400, node.get("/api/v1/documents/stock_level?where.qty=1&limit=501", service).statusCode());
            assertEquals(400, node.get("/api/v1/documents/stock_level?where.qty=1&after=%25%25", service).statusCode());
        }
    }
}
