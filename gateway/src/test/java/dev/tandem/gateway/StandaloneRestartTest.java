package dev.tandem.gateway;

import java.nio.file.Path;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Standalone mode keeps documents across a restart, in its embedded H2 file, with nothing installed. */
class StandaloneRestartTest {

    @Test
    void documentsSurviveARestartOfAStandaloneNode(@TempDir Path dir) throws Exception {
        Map<String, String> config = Map.of("tandem.documents.db.url", "jdbc:h2:file:" + dir.resolve("tandem"));
        try (TestGateway first = TestGateway.start(config);
             WsProbe c = ContractProbes.connect(first.ws(), TestGateway.token("alice", "acme"))) {
            JsonNode r = c.request(2, "{\"op\":\"doc.update\",\"id\":2,\"docType\":\"note\",\"docId\":\"n-1\","
                    + "\"baseVersion\":0,\"opId\":\"a:1\",\"data\":{\"text\":\"kept\"}}");
            assertEquals("applied", r.path("result").asText(), r.toString());
        }
        try (TestGateway second = TestGateway.start(config);
             WsProbe c = ContractProbes.connect(second.ws(), TestGateway.token("alice", "acme"))) {
            JsonNode doc = c.request(3, "{\"op\":\"doc.get\",\"id\":3,\"docType\":\"note\",\"docId\":\"n-1\"}");
            assertEquals("kept", doc.path("document").path("data").path("text").asText(), doc.toString());
            JsonNode replay = c.request(4, "{\"op\":\"doc.update\",\"id\":4,\"docType\":\"note\",\"docId\":\"n-1\","
                    + "\"baseVersion\":0,\"opId\":\"a:1\",\"data\":{\"text\":\"kept\"}}");
            assertEquals("duplicate", replay.path("result").asText(), "applied op ids survive too");
        }
    }
}
