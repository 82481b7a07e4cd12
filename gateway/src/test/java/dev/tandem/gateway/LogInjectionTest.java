package dev.tandem.gateway;

import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Client input never reaches the log raw: control characters in opIds, channel names and REST
 * paths are escaped, so nobody can forge a log line or drive the terminal of whoever reads it.
 */
class LogInjectionTest {
    private static final String MARK = "FORGED-LINE";
    private final CapturedLog log = new CapturedLog();
    private final List<String> lines = log.lines;

    @BeforeEach
    void listen() {
        log.start();
    }

    @AfterEach
    void stopListening() {
        log.stop();
    }

    @Test
    void controlCharactersFromClientsAreEscapedInTheLog() throws Exception {
        try (TestGateway node = TestGateway.start(java.util.Map.of());
             WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            // a device id with an escape sequence, and a gap in its sequence: the gap is logged
            String opId = "dev\\u001b[2J\\u0008" + MARK + ":7";
            assertEquals("applied", c.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"note\",\"docId\":\"log-1\","
                    + "\"baseVersion\":0,\"opId\":\"" + opId + "\",\"data\":{}}").path("result").asText());
            c.request(3, "{\"op\":\"subscribe\",\"id\":3,\"channel\":\"location:\\u001b\\n" + MARK + "\"}");
            String service = TestGateway.token("erp", "acme", "service");
            node.get("/api/v1/documents/note%0A" + MARK + "%1B/x", service);
            node.get("/api/v1/presence/doc%3Anote%0A" + MARK, service);
            node.post("/api/v1/users/%0A" + MARK + "/send", service, "{\"type\":\"t\",\"data\":{}}");
            LimitsTest.waitFor(() -> lines.stream().anyMatch(l -> l.contains("skipped from sequence")));
        }
        List<String> suspicious = lines.stream().filter(l -> l.contains(MARK)).toList();
        assertFalse(suspicious.isEmpty(), "the gap was logged, with the device id: " + lines);
        for (String line : lines) {
            assertFalse(line.contains("\u001b"), "raw ESC in the log: " + line);
            assertFalse(line.contains("\n" + MARK), "a forged line in the log: " + line);
        }
        assertTrue(suspicious.stream().anyMatch(l -> l.contains("\\u001b")), "escaped, not dropped: " + suspicious);
    }
}
