package dev.tandem.gateway;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * WebSocket and REST give the same answer to the same operation: the same body, or the same
 * code and message (with the code's HTTP status), because both only translate the one
 * operations layer.
 */
class TransportParityTest {
    private static TestGateway node;
    private static final String SERVICE = TestGateway.token("erp", "acme", "service");

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.documents.types.task.strategy", "manual"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    /** The reply's body (without op and id), or the error's code and message. */
    private static JsonNode ws(WsProbe c, long id, String frame) throws InterruptedException {
        return normalized(c.request(id, frame));
    }

    /** Like {@link #ws} for a frame that breaks the contract on purpose. */
    private static JsonNode wsInvalid(WsProbe c, long id, String frame) throws InterruptedException {
        return normalized(c.requestInvalid(id, frame));
    }

    private static JsonNode normalized(JsonNode answer) {
        ObjectNode f = (ObjectNode) answer.deepCopy();
        if (f.path("op").asText().equals("error")) {
            return node.gateway.codec().object().put("status", errorStatus(f.path("code").asText()))
                    .put("code", f.path("code").asText()).put("message", f.path("message").asText());
        }
        f.remove(List.of("op", "id"));
        return f;
    }

    private static JsonNode rest(HttpResponse<String> res) {
        JsonNode body = node.gateway.codec().parse(res.body());
        if (res.statusCode() != 200) {
            return node.gateway.codec().object().put("status", res.statusCode()).put("code", body.path("code").asText())
                    .put("message", body.path("message").asText());
        }
        return body;
    }

    private static int errorStatus(String code) {
        return dev.tandem.protocol.ErrorCode.fromWire(code).orElseThrow().httpStatus();
    }

    @Test
    void documentReadsAnswerAlike() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), SERVICE)) {
            c.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"note\",\"docId\":\"p-1\",\"baseVersion\":0,"
                    + "\"opId\":\"p:1\",\"data\":{\"t\":\"hello\"}}");
            assertEquals(rest(node.get("/api/v1/documents/note/p-1", SERVICE)),
                    ws(c, 3, "{\"op\":\"doc.get\",\"id\":3,\"docType\":\"note\",\"docId\":\"p-1\"}"));
            assertEquals(rest(node.get("/api/v1/documents/note/nope", SERVICE)),
                    ws(c, 4, "{\"op\":\"doc.get\",\"id\":4,\"docType\":\"note\",\"docId\":\"nope\"}"));
            assertEquals(rest(node.get("/api/v1/documents/n%20o/x", SERVICE)),
                    ws(c, 5, "{\"op\":\"doc.get\",\"id\":5,\"docType\":\"n o\",\"docId\":\"x\"}"));
            assertEquals(rest(node.get("/api/v1/documents/note?where.t=hello", SERVICE)),
                    ws(c, 6, "{\"op\":\"doc.query\",\"id\":6,\"docType\":\"note\",\"where\":{\"t\":\"hello\"}}"));
        }
    }

    @Test
    void batchesAnswerAlike() throws Exception {
        String ops = "[{\"docType\":\"note\",\"docId\":\"b-1\",\"baseVersion\":5,\"opId\":\"x:1\",\"data\":{}},"
                + "{\"docType\":\"note\",\"docId\":\"b-1\",\"baseVersion\":0,\"opId\":\"x:2\",\"patch\":{\"frob\":1}}]";
        try (WsProbe c = ContractProbes.connect(node.ws(), SERVICE)) {
            // rejections are not remembered, so both transports judge the same ops alike
            // (the second op's patch is malformed on purpose)
            assertEquals(rest(node.postInvalid("/api/v1/sync", SERVICE, "{\"ops\":" + ops + "}")),
                    wsInvalid(c, 2, "{\"op\":\"sync\",\"id\":2,\"ops\":" + ops + "}"));
            String malformed = "[{\"docType\":\"note\"}]";
            assertEquals(rest(node.postInvalid("/api/v1/sync", SERVICE, "{\"ops\":" + malformed + "}")).path("code"),
                    wsInvalid(c, 3, "{\"op\":\"sync\",\"id\":3,\"ops\":" + malformed + "}").path("code"));
        }
    }

    @Test
    void resolutionsAnswerAlike() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), SERVICE)) {
            String[] ids = new String[2];
            for (int i = 0; i < 2; i++) {
                String doc = "r-" + i;
                c.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"task\",\"docId\":\"" + doc + "\",\"baseVersion\":0,"
                        + "\"opId\":\"r" + i + ":1\",\"data\":{\"t\":\"a\"}}");
                c.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"task\",\"docId\":\"" + doc + "\",\"baseVersion\":1,"
                        + "\"opId\":\"r" + i + ":2\",\"patch\":{\"set\":{\"t\":\"b\"}}}");
                ids[i] = c.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"task\",\"docId\":\"" + doc
                        + "\",\"baseVersion\":1,\"opId\":\"q" + i + ":1\",\"patch\":{\"set\":{\"t\":\"c\"}}}")
                        .path("conflictId").asText();
            }
            JsonNode viaWs = ws(c, 5, "{\"op\":\"conflict.resolve\",\"id\":5,\"conflictId\":\"" + ids[0]
                    + "\",\"resolution\":\"accept_local\"}");
            JsonNode viaRest = rest(node.post("/api/v1/conflicts/" + ids[1] + "/resolve", SERVICE,
                    "{\"resolution\":\"accept_local\"}"));
            assertEquals(fieldNames(viaWs), fieldNames(viaRest));
            assertEquals(viaWs.path("result"), viaRest.path("result"));
            assertEquals(viaWs.path("version"), viaRest.path("version"));
            assertEquals(viaWs.path("document").path("data"), viaRest.path("document").path("data"));
            assertEquals(fieldNames(viaWs.path("conflict")), fieldNames(viaRest.path("conflict")));
            // resolving again: the same refusal on both
            JsonNode againWs = ws(c, 6, "{\"op\":\"conflict.resolve\",\"id\":6,\"conflictId\":\"" + ids[1]
                    + "\",\"resolution\":\"accept_local\"}");
            JsonNode againRest = rest(node.post("/api/v1/conflicts/" + ids[1] + "/resolve", SERVICE,
                    "{\"resolution\":\"accept_local\"}"));
            assertEquals(againRest.path("status"), againWs.path("status"));
            assertEquals(againRest.path("code"), againWs.path("code"));
            assertEquals(againRest.path("message").asText().replaceAll("at [^,]*,", ""),
                    againWs.path("message").asText().replaceAll("at [^,]*,", ""));
            assertEquals(rest(node.post("/api/v1/conflicts/cf-nope/resolve", SERVICE, "{\"resolution\":\"accept_local\"}")),
                    ws(c, 7, "{\"op\":\"conflict.resolve\",\"id\":7,\"conflictId\":\"cf-nope\",\"resolution\":\"accept_local\"}"));
            assertEquals(rest(node.postInvalid("/api/v1/conflicts/cf-nope/resolve", SERVICE, "{\"resolution\":\"maybe\"}")),
                    wsInvalid(c, 8, "{\"op\":\"conflict.resolve\",\"id\":8,\"conflictId\":\"cf-nope\",\"resolution\":\"maybe\"}"));
        }
    }

    private static List<String> fieldNames(JsonNode o) {
        List<String> names = new java.util.ArrayList<>();
        o.fieldNames().forEachRemaining(names::add);
        names.sort(null);
        return names;
    }
}
