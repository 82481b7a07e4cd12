package dev.tandem.gateway;

import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo board's files, in development mode: its page and the compiled client, nothing else. */
class DemoServiceTest {
    @TempDir
    Path client;

    @Test
    void servesThePageAndTheCompiledClientButNothingElseOfTheClientsFolder() throws Exception {
        Files.createDirectories(client.resolve("demo"));
        Files.createDirectories(client.resolve("dist"));
        Files.createDirectories(client.resolve("src"));
        Files.writeString(client.resolve("demo/index.html"), "<html>board</html>");
        Files.writeString(client.resolve("dist/index.js"), "export const x = 1;");
        Files.writeString(client.resolve("package.json"), "{\"name\":\"secret-package\"}");
        Files.writeString(client.resolve("src/client.ts"), "// secret source");
        try (TestGateway node = TestGateway.start(Map.of("tandem.demo.dir", client.toString()))) {
            int port = node.gateway.port();
            assertTrue(get(port, "/demo/").startsWith("HTTP/1.1 200"));
            assertTrue(get(port, "/demo/dist/index.js").startsWith("HTTP/1.1 200"));
            for (String path : new String[] {"/demo/%2e%2e/package.json", "/demo/dist/%2e%2e/package.json",
                    "/demo/dist/%2e%2e/src/client.ts", "/demo/%2e%2e/src/client.ts", "/demo/..%2fpackage.json",
                    "/demo/dist/..%2f..%2fpackage.json"}) {
                String answer = get(port, path);
                assertTrue(answer.startsWith("HTTP/1.1 404") || answer.startsWith("HTTP/1.1 400"), path + ": " + answer);
                assertTrue(!answer.contains("secret"), path + ": " + answer);
            }
            String nul = get(port, "/demo/x%00.html");
            assertTrue(nul.startsWith("HTTP/1.1 404") || nul.startsWith("HTTP/1.1 400"), "a NUL in a path: " + nul);
        }
    }

    @Test
    void theBoardWithoutItsTrailingSlashRedirectsToTheFolderSoItsRelativePathsResolve() throws Exception {
        Files.createDirectories(client.resolve("demo"));
        Files.writeString(client.resolve("demo/index.html"), "<html>board</html>");
        try (TestGateway node = TestGateway.start(Map.of("tandem.demo.dir", client.toString()))) {
            int port = node.gateway.port();
            String bare = get(port, "/demo");
            assertTrue(bare.startsWith("HTTP/1.1 301"), bare);
            assertTrue(bare.contains("\r\nLocation: /demo/\r\n"), bare);
            String withQuery = get(port, "/demo?user=bob&tenant=t1");
            assertTrue(withQuery.startsWith("HTTP/1.1 301"), withQuery);
            assertTrue(withQuery.contains("\r\nLocation: /demo/?user=bob&tenant=t1\r\n"), withQuery);
            assertTrue(get(port, "/demo/?user=bob").contains("<html>board</html>"));
        }
    }

    /** A GET over a raw socket, so the path reaches the server exactly as written. */
    static String get(int port, String path) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try {
                s.getInputStream().transferTo(b);
            } catch (SocketTimeoutException e) {
                // what came
            }
            return b.toString(StandardCharsets.UTF_8);
        }
    }
}
