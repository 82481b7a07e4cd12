package dev.tandem.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ChannelAccessTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static String subscribe(long id, String channel) {
        return "{\"op\":\"subscribe\",\"id\":" + id + ",\"channel\":\"" + channel + "\"}";
    }

    @Test
    void aTenantNeverSeesAnotherTenantsPublicationsOnTheSameChannelNames() throws Exception {
        Map<String, List<String>> all = Map.of("locations", List.of("*"));
        try (WsProbe a = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme", all, Duration.ofHours(1)));
             WsProbe b = ContractProbes.connect(node.ws(), TestGateway.token("bob", "globex", all, Duration.ofHours(1)))) {
            for (WsProbe c : List.of(a, b)) {
                assertEquals("reply", c.request(2, subscribe(2, "tenant")).path("op").asText());
                assertEquals("reply", c.request(3, subscribe(3, "location:wh-1")).path("op").asText());
            }
            node.publish("acme", "tenant", "note", "{\"secret\":\"acme-only\"}");
            node.publish("acme", "location:wh-1", "stock.updated", "{\"qty\":1}");
            JsonNode first = a.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("tenant", first.path("channel").asText());
            JsonNode second = a.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("location:wh-1", second.path("channel").asText());
            assertNull(b.poll(Duration.ofMillis(500)), "tenant globex must not receive acme's events");
            // and globex's own publication starts its own offsets
            node.publish("globex", "tenant", "note", "{}");
            JsonNode own = b.expect(f -> f.path("op").asText().equals("event"));
            assertEquals(1, own.path("offset").asLong());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"acme/tenant", "tenant:acme", "../acme/tenant", "globex:tenant", "tenant ", "",
            "location:", "location:a:b", "doc:task", "nope:1", "USER:bob", "user:bob\\u0000"})
    void craftedOrMalformedNamesAreUnknownChannels(String name) throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("eve", "globex"))) {
            JsonNode e = c.requestInvalid(2, subscribe(2, name));
            assertEquals("unknown_channel", e.path("code").asText(), name);
            assertEquals("reply", c.request(3, "{\"op\":\"ping\",\"id\":3}").path("op").asText());
        }
    }

    @Test
    void userChannelsAreOnlyForTheirOwnUser() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            JsonNode e = c.request(2, subscribe(2, "user:bob"));
            assertEquals("forbidden", e.path("code").asText());
            assertEquals("reply", c.request(3, subscribe(3, "user:alice")).path("op").asText());
        }
    }

    @Test
    void locationChannelsFollowTheLocationsClaim() throws Exception {
        String token = TestGateway.token("alice", "acme", Map.of("locations", List.of("wh-7")), Duration.ofHours(1));
        try (WsProbe c = ContractProbes.connect(node.ws(), token)) {
            assertEquals("reply", c.request(2, subscribe(2, "location:wh-7")).path("op").asText());
            assertEquals("forbidden", c.request(3, subscribe(3, "location:wh-8")).path("code").asText());
        }
    }

    @Test
    void clientsPublishOnlyWhereTheNamespaceAllows() throws Exception {
        String token = TestGateway.token("alice", "acme", Map.of("workspaces", List.of("w1")), Duration.ofHours(1));
        try (WsProbe c = ContractProbes.connect(node.ws(), token)) {
            assertEquals("reply", c.request(2, subscribe(2, "workspace:w1")).path("op").asText());
            JsonNode ok = c.request(3, "{\"op\":\"publish\",\"id\":3,\"channel\":\"workspace:w1\",\"type\":\"chat\",\"data\":{\"t\":\"hi\"}}");
            assertEquals(1, ok.path("offset").asLong());
            JsonNode event = c.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("alice", event.path("from").asText());
            assertEquals("hi", event.path("data").path("t").asText());
            assertEquals("forbidden", c.request(4, "{\"op\":\"publish\",\"id\":4,\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}")
                    .path("code").asText());
            assertEquals("forbidden", c.request(5, "{\"op\":\"publish\",\"id\":5,\"channel\":\"workspace:w2\",\"type\":\"x\",\"data\":{}}")
                    .path("code").asText());
            // doc channels take ephemeral signals only
            assertEquals("forbidden", c.request(6, "{\"op\":\"publish\",\"id\":6,\"channel\":\"doc:task:1\",\"type\":\"typing\",\"data\":{}}")
                    .path("code").asText());
            JsonNode eph = c.request(7, "{\"op\":\"publish\",\"id\":7,\"channel\":\"doc:task:1\",\"type\":\"typing\",\"data\":{},\"ephemeral\":true}");
            assertEquals("reply", eph.path("op").asText());
            assertEquals(true, eph.path("offset").isMissingNode());
        }
    }
}
