package dev.tandem.gateway;

import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that goes away is an ordinary end: no warning, no stack trace, and never its token
 * in the log, however it authenticated (an SSE stream's {@code access_token=} sits in the request
 * line).
 */
class ClientGoneAwayLogTest {
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
    void anSseClientThatGoesAwayLeavesNoWarningAndNoTokenInTheLog() throws Exception {
        String token = TestGateway.token("alice", "acme");
        String secretPart = token.substring(token.lastIndexOf('.') + 1);
        try (TestGateway node = TestGateway.start(Map.of())) {
            lines.clear(); // what starting a node logs is not about clients
            for (int i = 0; i < 5; i++) {
                try (Socket s = new Socket("127.0.0.1", node.gateway.port())) {
                    s.getOutputStream().write(("GET /sse?channel=tenant&access_token=" + token + " HTTP/1.1\r\nHost: x\r\n"
                            + "Accept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    InputStream in = s.getInputStream();
                    StringBuilder seen = new StringBuilder();
                    while (!seen.toString().contains("event: subscribed")) {
                        int b = in.read();
                        assertTrue(b >= 0, "stream ended early: " + seen);
                        seen.append((char) b);
                    }
                    s.setSoLinger(true, 0); // gone at once, with a reset
                }
                // the next writes find the client gone
                for (int k = 0; k < 20; k++) {
                    node.publish("acme", "tenant", "after-" + k, "{\"pad\":\"" + "x".repeat(2000) + "\"}");
                }
            }
            Thread.sleep(1000); // the writes that find the clients gone
        }
        for (String line : lines) {
            if (line.contains("com.networknt.schema")) {
                continue; // the test's own contract validator
            }
            assertFalse(line.contains(secretPart), "a token in the log: " + line);
            assertFalse(line.startsWith("WARNING") || line.startsWith("SEVERE"), "a client going away is no warning: "
                    + line);
            assertFalse(line.contains("| thrown"), "no stack trace for a client going away: " + line);
        }
    }

    @Test
    void anAbortedRequestBodyIsNoErrorOfTheServer() throws Exception {
        String service = TestGateway.token("erp", "acme", "service");
        try (TestGateway node = TestGateway.start(Map.of())) {
            lines.clear();
            for (String path : List.of("/api/v1/publish", "/sse/send")) {
                try (Socket s = new Socket("127.0.0.1", node.gateway.port())) {
                    s.getOutputStream().write(("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            + "Authorization: Bearer " + service + "\r\nContent-Length: 500\r\n\r\n{\"channel\":\"ten")
                            .getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                    Thread.sleep(200);
                    s.setSoLinger(true, 0);
                }
            }
            Thread.sleep(500);
            assertTrue(node.get("/health").statusCode() == 200);
        }
        for (String line : lines) {
            if (line.contains("com.networknt.schema")) {
                continue;
            }
            assertFalse(line.startsWith("SEVERE") || line.startsWith("WARNING"), "an aborted upload is the client's: " + line);
            assertFalse(line.contains("| thrown"), "no stack trace: " + line);
        }
    }
}
