package dev.tandem.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request framing a proxy in front could read differently is refused with 400 and the connection
 * closed (no request smuggling), and a request head that trickles in is cut off; over raw sockets,
 * since HTTP clients never send such requests.
 */
class HttpFramingTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.http.header-timeout", "PT1S"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static final String BODY = "{\"op\":\"ping\",\"id\":1}";

    @ParameterizedTest
    @ValueSource(strings = {
            "Content-Length: 20\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked\r\nContent-Length: 20\r\n",
            "Content-Length: 20\r\nContent-Length: 21\r\n",
            "Content-Length: 20\r\nContent-Length: 20\r\n",
            "Content-Length: 20, 20\r\n",
            "Transfer-Encoding: chunked, identity\r\n",
            "Transfer-Encoding: identity\r\n",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"})
    void ambiguousFramingIsRefusedAndTheConnectionClosed(String framing) throws Exception {
        try (Socket s = new Socket("127.0.0.1", node.gateway.port())) {
            s.setSoTimeout(5000);
            String request = "POST /sse/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + TestGateway.token("alice", "acme") + "\r\n" + framing + "\r\n"
                    + BODY + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String answer = readAll(s.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertEquals(1, count(answer, "HTTP/1.1 "), "nothing after the refused request is served: " + answer);
        }
    }

    @Test
    void plainFramingIsServed() throws Exception {
        try (Socket s = new Socket("127.0.0.1", node.gateway.port())) {
            s.setSoTimeout(5000);
            String request = "POST /sse/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + TestGateway.token("alice", "acme") + "\r\nContent-Length: "
                    + BODY.length() + "\r\nConnection: close\r\n\r\n" + BODY;
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String answer = readAll(s.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        }
    }

    @Test
    void aRequestHeadThatTricklesInIsCutOffWhileOthersAreServed() throws Exception {
        try (Socket slow = new Socket("127.0.0.1", node.gateway.port());
             Socket idleKeepAlive = new Socket("127.0.0.1", node.gateway.port())) {
            slow.setSoTimeout(6000);
            OutputStream out = slow.getOutputStream();
            out.write("GET /health HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            boolean closed = false;
            // one header line every 300 ms: each byte is quick, the head as a whole is not
            for (int i = 0; i < 20 && !closed; i++) {
                Thread.sleep(300);
                try {
                    out.write(("X-Slow-" + i + ": y\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException e) {
                    closed = true;
                }
            }
            if (!closed) {
                try {
                    closed = slow.getInputStream().read() == -1;
                } catch (SocketTimeoutException e) {
                    closed = false;
                } catch (IOException e) {
                    closed = true;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(closed, "the slow head's connection was closed");
            assertTrue(seconds < 4.5, "closed after " + seconds + " s");
            assertEquals(200, node.get("/health").statusCode(), "others are served");

            // a keep-alive connection that answered a request and then waits is not a slow head
            idleKeepAlive.setSoTimeout(5000);
            idleKeepAlive.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            readResponse(idleKeepAlive.getInputStream());
            Thread.sleep(2500);
            idleKeepAlive.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            assertTrue(readAll(idleKeepAlive.getInputStream()).startsWith("HTTP/1.1 200"));
        }
    }

    @Test
    void aWebSocketIsNotTakenForASlowRequestHead() throws Exception {
        try (RawWebSocket ws = RawWebSocket.open(node.gateway.port())) {
            ws.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + TestGateway.token("alice", "acme") + "\"}");
            ws.receiveContaining("\"id\":1");
            for (int i = 2; i < 8; i++) {
                Thread.sleep(400);
                ws.send("{\"op\":\"ping\",\"id\":" + i + "}");
                assertTrue(ws.receiveContaining("\"id\":" + i).contains("reply"));
            }
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            in.transferTo(b);
        } catch (SocketTimeoutException e) {
            // what came so far
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    /** Reads one response with a Content-Length body. */
    private static void readResponse(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            head.append((char) in.read());
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        if (m.find()) {
            in.readNBytes(Integer.parseInt(m.group(1)));
        }
    }

    private static int count(String s, String part) {
        int n = 0;
        for (int i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + 1)) {
            n++;
        }
        return n;
    }
}
