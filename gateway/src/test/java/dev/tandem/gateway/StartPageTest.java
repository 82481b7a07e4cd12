package dev.tandem.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the node's root answers, and what its ready message says, with and without the demo board. */
class StartPageTest {
    @TempDir
    Path client;

    private Map<String, String> withBoard() throws Exception {
        Files.createDirectories(client.resolve("demo"));
        Files.writeString(client.resolve("demo/index.html"), "<html>board</html>");
        return Map.of("tandem.demo.dir", client.toString());
    }

    @Test
    void theRootRedirectsToTheBoardWhenTheNodeServesIt() throws Exception {
        try (TestGateway node = TestGateway.start(withBoard())) {
            String answer = DemoServiceTest.get(node.gateway.port(), "/");
            assertTrue(answer.startsWith("HTTP/1.1 302"), answer);
            assertTrue(answer.contains("\r\nLocation: /demo/\r\n"), answer);
            assertTrue(node.gateway.servesDemo());
        }
    }

    @Test
    void theRootNamesTheEndpointsWhenNoBoardIsServed() throws Exception {
        // development mode without the demo's folder, and a node outside development mode
        for (Map<String, String> settings : java.util.List.of(Map.<String, String>of(),
                Map.of("tandem.dev-mode", "false", "tandem.auth.hs256-secret", "a-secret-of-this-test-only-0123456789",
                        "tandem.demo.dir", withBoard().get("tandem.demo.dir")))) {
            try (TestGateway node = TestGateway.start(settings)) {
                String answer = DemoServiceTest.get(node.gateway.port(), "/");
                assertTrue(answer.startsWith("HTTP/1.1 200"), settings + ": " + answer);
                assertTrue(answer.contains("Content-Type: text/plain"), answer);
                for (String named : new String[] {"Tandem", "/ws", "/api/v1/", "/health", "/contracts/tandem-openapi.yaml"}) {
                    assertTrue(answer.contains(named), named + " in " + answer);
                }
                assertFalse(node.gateway.servesDemo(), settings.toString());
                assertTrue(DemoServiceTest.get(node.gateway.port(), "/nothing-here").startsWith("HTTP/1.1 404"),
                        "only / itself is answered");
            }
        }
    }
}
