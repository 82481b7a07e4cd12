package dev.tandem.gateway;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Input that is not strictly UTF-8 is refused as {@code bad_request} on every transport, before
 * it is parsed: an overlong encoding can neither name another tenant's channel nor arrive
 * altered, and the connection keeps working.
 */
class InvalidUtf8Test {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of());
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    /** {@code prefix}, then an overlong encoding of {@code b} (C1 A2), then {@code suffix}. */
    private static byte[] overlong(String prefix, String suffix) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(prefix.getBytes(StandardCharsets.UTF_8));
        out.write(0xC1);
        out.write(0xA2);
        out.writeBytes(suffix.getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    @Test
    void aWebSocketTextFrameThatIsNotUtf8IsRefusedWithItsIdAndTheConnectionKeepsWorking() throws Exception {
        try (RawWebSocket ws = RawWebSocket.open(node.gateway.port());
             WsProbe globex = ContractProbes.connect(node.ws(), TestGateway.token("g", "globex"))) {
            globex.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            ws.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("alice", "acme") + "\"}");
            ws.receiveContaining("\"id\":1");
            ws.sendText(overlong("{\"op\":\"publish\",\"id\":7,\"channel\":\"tenant\",\"type\":\"x\",\"data\":{\"t\":\"glo",
                    "ex\"}}"));
            String error = ws.receiveContaining("\"id\":7");
            assertTrue(error.contains("\"op\":\"error\"") && error.contains("bad_request") && error.contains("UTF-8"), error);
            ws.send("{\"op\":\"ping\",\"id\":8}");
            assertTrue(ws.receiveContaining("\"id\":8").contains("reply"));
            assertNull(globex.poll(Duration.ofMillis(200)), "nothing reached another tenant");
        }
    }

    @Test
    void aRestBodyThatIsNotUtf8IsRefusedAndNothingIsPublished() throws Exception {
        String service = TestGateway.token("erp", "globex", "service");
        try (WsProbe globex = ContractProbes.connect(node.ws(), TestGateway.token("g", "globex"))) {
            globex.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            HttpResponse<String> res = node.postBytes("/api/v1/publish", service,
                    overlong("{\"channel\":\"tenant\",\"type\":\"x\",\"data\":{\"t\":\"glo", "ex\"}}"));
            assertEquals(400, res.statusCode(), res.body());
            assertTrue(res.body().contains("bad_request") && res.body().contains("UTF-8"), res.body());
            assertNull(globex.poll(Duration.ofMillis(200)), "nothing published");
        }
    }

    @Test
    void anSseSendThatIsNotUtf8IsRefused() throws Exception {
        HttpResponse<String> res = node.postBytes("/sse/send", TestGateway.token("alice", "acme"),
                overlong("{\"op\":\"ping\",\"id\":3,\"x\":\"", "\"}"));
        assertEquals(400, res.statusCode(), res.body());
        assertTrue(res.body().contains("bad_request") && res.body().contains("UTF-8"), res.body());
    }
}
