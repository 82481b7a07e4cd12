package dev.tandem.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ready message a person reads when the node is up. */
class MainTest {
    @TempDir
    Path client;

    @Test
    void theReadyMessageNamesTheBoardsUrlWhenTheNodeServesIt() throws Exception {
        Files.createDirectories(client.resolve("demo"));
        Files.writeString(client.resolve("demo/index.html"), "<html>board</html>");
        try (TestGateway node = TestGateway.start(Map.of("tandem.demo.dir", client.toString()))) {
            String banner = Main.banner(node.gateway);
            assertTrue(banner.contains("ws://localhost:" + node.gateway.port() + "/ws"), banner);
            assertTrue(banner.contains("Demo board: http://localhost:" + node.gateway.port() + "/demo/"), banner);
        }
    }

    @Test
    void theReadyMessageDoesNotPromiseABoardTheNodeDoesNotServe() {
        try (TestGateway node = TestGateway.start(Map.of())) {
            String banner = Main.banner(node.gateway);
            assertTrue(banner.contains("ws://localhost:" + node.gateway.port() + "/ws"), banner);
            assertFalse(banner.contains("/demo"), banner);
        }
    }
}
