package dev.tandem.gateway;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hostile battery over real sockets against a real gateway: forged and broken tokens,
 * channel-name tricks, cross-tenant reaches, malformed and oversized frames, floods and hostile
 * numbers. Every case asserts the exact error (and close) code, and after every case the node is
 * still serving.
 */
class HostileBatteryTest {
    private static TestGateway node;
    private static KeyPair rsa;
    private static final String DEV = TestGateway.SECRET;

    @BeforeAll
    static void start() throws Exception {
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        rsa = gen.generateKeyPair();
        RSAPublicKey pub = (RSAPublicKey) rsa.getPublic();
        Path jwks = Files.createTempFile("hostile-jwks", ".json");
        Files.writeString(jwks, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\""
                + b64(pub.getModulus()) + "\",\"e\":\"" + b64(pub.getPublicExponent()) + "\"}]}");
        jwks.toFile().deleteOnExit();
        node = TestGateway.start(Map.of(
                "tandem.auth.jwks-file", jwks.toString(),
                "tandem.limits.max-frame-bytes", "65536",
                "tandem.documents.types.task.strategy", "manual"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @AfterEach
    void theNodeIsStillServing() throws Exception {
        assertEquals(200, node.get("/health/ready").statusCode());
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("canary", "acme"))) {
            assertEquals("reply", c.request(99, "{\"op\":\"ping\",\"id\":99}").path("op").asText());
        }
    }

    // ------------------------------------------------------------------ tokens

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String b64(BigInteger i) {
        byte[] b = i.toByteArray();
        if (b[0] == 0) {
            b = java.util.Arrays.copyOfRange(b, 1, b.length);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** A token with this header and payload, signed HS256 (or per {@code alg}'s HMAC) with {@code key}. */
    private static String hmac(String header, String payload, byte[] key, String macAlg) {
        try {
            String input = b64(header) + "." + b64(payload);
            Mac mac = Mac.getInstance(macAlg);
            mac.init(new SecretKeySpec(key, macAlg));
            return input + "." + Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(mac.doFinal(input.getBytes(StandardCharsets.US_ASCII)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hs256(String payload) {
        return hmac("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"tandem-hs256\"}", payload,
                DEV.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    }

    private static long now() {
        return Instant.now().getEpochSecond();
    }

    private static String claims(String extra) {
        return "{\"sub\":\"mallory\",\"tid\":\"acme\",\"iat\":" + now() + ",\"exp\":" + (now() + 600)
                + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    static Stream<Arguments> forgedTokens() {
        long n = now();
        String good = claims("");
        String rsaPublicPem = Base64.getEncoder().encodeToString(((RSAPublicKey) rsa().getPublic()).getEncoded());
        List<Arguments> cases = new ArrayList<>(List.of(
                Arguments.of("alg none", b64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + b64(good) + ".", 4001),
                Arguments.of("alg none with a signature", b64("{\"alg\":\"none\"}") + "." + b64(good) + ".c2ln", 4001),
                Arguments.of("alg NONE", b64("{\"alg\":\"NONE\"}") + "." + b64(good) + ".", 4001),
                Arguments.of("wrong secret", hmac("{\"alg\":\"HS256\"}", good,
                        "another-secret-another-secret-another!!".getBytes(StandardCharsets.UTF_8), "HmacSHA256"), 4001),
                Arguments.of("HS512 not accepted", hmac("{\"alg\":\"HS512\"}", good, DEV.getBytes(StandardCharsets.UTF_8),
                        "HmacSHA512"), 4001),
                Arguments.of("RS256 header, HMAC signature", hmac("{\"alg\":\"RS256\",\"kid\":\"r1\"}", good,
                        DEV.getBytes(StandardCharsets.UTF_8), "HmacSHA256"), 4001),
                Arguments.of("HS256 signed with the RSA public key", hmac("{\"alg\":\"HS256\",\"kid\":\"r1\"}", good,
                        rsaPublicPem.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"), 4001),
                Arguments.of("unknown kid", hmac("{\"alg\":\"RS256\",\"kid\":\"../../etc/passwd\"}", good,
                        DEV.getBytes(StandardCharsets.UTF_8), "HmacSHA256"), 4001),
                Arguments.of("expired", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":" + (n - 60) + "}"), 4003),
                Arguments.of("exp 9.3e15", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":9300000000000000}"), 4001),
                Arguments.of("exp 1e1000000000", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":1e1000000000}"), 4001),
                Arguments.of("exp as text", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":\"" + (n + 600) + "\"}"), 4001),
                Arguments.of("exp negative", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":-5}"), 4001),
                Arguments.of("nbf 1e1000000000", hs256(claims("\"nbf\":1e1000000000")), 4001),
                Arguments.of("nbf in an hour", hs256(claims("\"nbf\":" + (n + 3600))), 4001),
                Arguments.of("iat 1e30", hs256("{\"sub\":\"alice\",\"tid\":\"acme\",\"iat\":1e30,\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("no exp", hs256("{\"sub\":\"alice\",\"tid\":\"acme\"}"), 4001),
                Arguments.of("no sub", hs256("{\"tid\":\"acme\",\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("no tid", hs256("{\"sub\":\"alice\",\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("tid with a colon", hs256("{\"sub\":\"alice\",\"tid\":\"acme:evil\",\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("tid as a list", hs256("{\"sub\":\"alice\",\"tid\":[\"acme\"],\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("sub with a line break", hs256("{\"sub\":\"bob\\nadmin\",\"tid\":\"acme\",\"exp\":" + (n + 600) + "}"), 4001),
                Arguments.of("two segments", b64("{\"alg\":\"HS256\"}") + "." + b64(good), 4001),
                Arguments.of("four segments", hs256(good) + ".extra", 4001),
                Arguments.of("payload not JSON", b64("{\"alg\":\"HS256\"}") + "." + b64("hello") + ".c2ln", 4001),
                Arguments.of("header not JSON", b64("nope") + "." + b64(good) + ".c2ln", 4001),
                Arguments.of("empty token", "", 4001),
                Arguments.of("tampered payload", tampered(), 4001),
                Arguments.of("huge token", "x".repeat(50_000), 4001)));
        return cases.stream();
    }

    private static KeyPair rsa() {
        return rsa;
    }

    /** A valid token whose payload was swapped for one with more roles, the signature kept. */
    private static String tampered() {
        String valid = hs256(claims(""));
        String[] parts = valid.split("\\.");
        return parts[0] + "." + b64(claims("\"roles\":[\"admin\",\"service\"]")) + "." + parts[2];
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("forgedTokens")
    void aForgedOrBrokenTokenIsRefusedAndNothingIsAuthenticated(String name, String token, int close) throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws())) {
            c.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
            JsonNode e = c.answer(1);
            assertEquals("error", e.path("op").asText(), name + ": " + e);
            assertEquals("unauthorized", e.path("code").asText(), name + ": " + e);
            assertFalse(token.length() > 10 && e.path("message").asText().contains(token), "token echoed");
            JsonNode d = c.expect(f -> f.path("op").asText().equals("disconnect"));
            assertEquals(close, d.path("code").asInt(), name);
            assertEquals(close == 4003, d.path("reconnect").asBoolean(), name);
            assertEquals(close, c.closeCode(), name);
            for (JsonNode f : List.of(e, d)) {
                assertNotEquals("welcome", f.path("op").asText());
            }
        }
    }

    @Test
    void aForgedTokenOnTheUpgradeIsRefusedToo() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws(), Map.of("Authorization", "Bearer " + tampered()))) {
            assertEquals("unauthorized", c.expect(f -> f.path("op").asText().equals("error")).path("code").asText());
            assertEquals(4001, c.closeCode());
        }
    }

    @Test
    void aRefreshWithAnotherUsersTokenIsForbiddenAndChangesNothing() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            JsonNode e = c.request(2, "{\"op\":\"refresh\",\"id\":2,\"token\":\"" + TestGateway.token("bob", "acme") + "\"}");
            assertEquals("forbidden", e.path("code").asText());
            JsonNode other = c.request(3, "{\"op\":\"refresh\",\"id\":3,\"token\":\"" + TestGateway.token("alice", "globex")
                    + "\"}");
            assertEquals("forbidden", other.path("code").asText());
            assertEquals("forbidden", c.request(4, "{\"op\":\"subscribe\",\"id\":4,\"channel\":\"user:bob\"}").path("code").asText());
        }
    }

    // ------------------------------------------------------------------ frames on an open connection

    static Stream<Arguments> hostileFrames() {
        String deep = "[".repeat(5_000) + "]".repeat(5_000);
        return Stream.of(
                Arguments.of("another user's inbox", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"user:bob\"}", "forbidden"),
                Arguments.of("an extra segment", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"user:alice:x\"}", "unknown_channel"),
                Arguments.of("an empty id", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"user:\"}", "unknown_channel"),
                Arguments.of("a lone colon", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\":\"}", "unknown_channel"),
                Arguments.of("a tenant named", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"tenant:globex\"}", "unknown_channel"),
                Arguments.of("a tenant prefix", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"globex/tenant\"}", "unknown_channel"),
                Arguments.of("a path", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:../wh-1\"}", "unknown_channel"),
                Arguments.of("a space", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:wh 1\"}", "unknown_channel"),
                Arguments.of("a NUL", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:wh-1\\u0000\"}", "unknown_channel"),
                Arguments.of("a lookalike letter", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"l\u043ecation:wh-1\"}", "unknown_channel"),
                Arguments.of("upper case", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"LOCATION:wh-1\"}", "unknown_channel"),
                Arguments.of("a wildcard id", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:*\"}", "unknown_channel"),
                Arguments.of("a location out of scope", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:wh-2\"}", "forbidden"),
                Arguments.of("a very long name", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"location:" + "w".repeat(300) + "\"}",
                        "unknown_channel"),
                Arguments.of("a short doc channel", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"doc:t\"}", "unknown_channel"),
                Arguments.of("a long doc channel", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"doc:t:1:2\"}", "unknown_channel"),
                Arguments.of("presence where there is none", "{\"op\":\"subscribe\",\"id\":5,\"channel\":\"tenant\","
                        + "\"presence\":true}", "bad_request"),
                Arguments.of("publishing to the tenant", "{\"op\":\"publish\",\"id\":5,\"channel\":\"tenant\",\"type\":\"x\","
                        + "\"data\":{}}", "forbidden"),
                Arguments.of("a durable publish to a document", "{\"op\":\"publish\",\"id\":5,\"channel\":\"doc:t:1\","
                        + "\"type\":\"x\",\"data\":{}}", "forbidden"),
                Arguments.of("a reserved event type", "{\"op\":\"publish\",\"id\":5,\"channel\":\"doc:t:1\","
                        + "\"type\":\"tandem.presence.join\",\"data\":{},\"ephemeral\":true}", "bad_request"),
                Arguments.of("an event type with a line break", "{\"op\":\"publish\",\"id\":5,\"channel\":\"doc:t:1\","
                        + "\"type\":\"x\\ny\",\"data\":{},\"ephemeral\":true}", "bad_request"),
                Arguments.of("acknowledging another inbox", "{\"op\":\"ack\",\"id\":5,\"channel\":\"user:bob\",\"offset\":1}",
                        "forbidden"),
                Arguments.of("acknowledging a topic", "{\"op\":\"ack\",\"id\":5,\"channel\":\"tenant\",\"offset\":1}", "bad_request"),
                Arguments.of("acknowledging the future", "{\"op\":\"ack\",\"id\":5,\"channel\":\"user:alice\",\"offset\":999999}",
                        "not_found"),
                Arguments.of("deep nesting", "{\"op\":\"publish\",\"id\":5,\"channel\":\"doc:t:1\",\"type\":\"x\",\"data\":" + deep
                        + ",\"ephemeral\":true}", "bad_request"),
                Arguments.of("a duplicate op", "{\"op\":\"ping\",\"op\":\"publish\",\"id\":5}", "bad_request"),
                Arguments.of("an op as a number", "{\"op\":7,\"id\":5}", "bad_request"),
                Arguments.of("an id past 2^53", "{\"op\":\"ping\",\"id\":9007199254740993}", "bad_request"),
                Arguments.of("an opId too long", "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"t\",\"docId\":\"1\","
                        + "\"baseVersion\":0,\"opId\":\"" + "o".repeat(300) + "\",\"data\":{}}", "bad_request"),
                Arguments.of("a query on two fields", "{\"op\":\"doc.query\",\"id\":5,\"docType\":\"t\",\"where\":{\"a\":1,\"b\":2}}",
                        "bad_request"),
                Arguments.of("a query on an object", "{\"op\":\"doc.query\",\"id\":5,\"docType\":\"t\",\"where\":{\"a\":{}}}",
                        "bad_request"),
                Arguments.of("a query for an infinite number", "{\"op\":\"doc.query\",\"id\":5,\"docType\":\"t\","
                        + "\"where\":{\"a\":1e400}}", "bad_request"),
                Arguments.of("a forged cursor", "{\"op\":\"doc.query\",\"id\":5,\"docType\":\"t\",\"where\":{\"a\":1},"
                        + "\"after\":\"Li4vZXRj\"}", "bad_request"),
                Arguments.of("a document type with a slash", "{\"op\":\"doc.get\",\"id\":5,\"docType\":\"a/b\",\"docId\":\"1\"}",
                        "bad_request"),
                Arguments.of("resolving an unknown conflict", "{\"op\":\"conflict.resolve\",\"id\":5,\"conflictId\":\"cf-x\","
                        + "\"resolution\":\"accept_local\"}", "not_found"),
                Arguments.of("a huge conflict id", "{\"op\":\"conflict.resolve\",\"id\":5,\"conflictId\":\"" + "c".repeat(5000)
                        + "\",\"resolution\":\"accept_local\"}", "bad_request"),
                Arguments.of("an inc of 1e1000000000", "{\"op\":\"doc.update\",\"id\":5,\"docType\":\"t\",\"docId\":\"num\","
                        + "\"baseVersion\":0,\"opId\":\"h:1\",\"patch\":{\"inc\":{\"n\":1e1000000000}}}", "bad_request"),
                Arguments.of("a number of 1,001 digits", "{\"op\":\"ping\",\"id\":5,\"n\":" + "1".repeat(1001) + "}", "bad_request"),
                Arguments.of("a second connect", "{\"op\":\"connect\",\"id\":5,\"token\":\"x\"}", "bad_request"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileFrames")
    void aHostileFrameGetsItsExactCodeAndTheConnectionKeepsServing(String name, String frame, String code) throws Exception {
        String alice = TestGateway.token("alice", "acme", Map.of("locations", List.of("wh-1")), Duration.ofHours(1));
        try (WsProbe c = ContractProbes.connect(node.ws(), alice)) {
            c.sendInvalid(frame);
            JsonNode e = c.expect(f -> f.path("op").asText().equals("error") || f.path("op").asText().equals("reply"));
            assertEquals("error", e.path("op").asText(), name + ": " + e);
            assertEquals(code, e.path("code").asText(), name + ": " + e);
            // the error carries the frame's id whenever one can be read
            assertEquals(frame.contains("9007199254740993") ? 0 : 5, e.path("id").asLong(), name + ": " + e);
            assertEquals("reply", c.request(6, "{\"op\":\"ping\",\"id\":6}").path("op").asText(), name);
        }
    }

    @Test
    void anotherTenantsChannelsAndDocumentsAreOutOfReach() throws Exception {
        try (WsProbe acme = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"));
             WsProbe globex = ContractProbes.connect(node.ws(), TestGateway.token("alice", "globex"))) {
            acme.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            node.publish("globex", "tenant", "secret", "{\"x\":1}");
            globex.request(3, "{\"op\":\"doc.update\",\"id\":3,\"docType\":\"note\",\"docId\":\"g-1\",\"baseVersion\":0,"
                    + "\"opId\":\"g:1\",\"data\":{\"secret\":true}}");
            assertEquals("not_found", acme.request(4, "{\"op\":\"doc.get\",\"id\":4,\"docType\":\"note\",\"docId\":\"g-1\"}")
                    .path("code").asText());
            assertEquals(404, node.get("/api/v1/documents/note/g-1", TestGateway.token("erp", "acme", "service")).statusCode());
            acme.request(5, "{\"op\":\"ping\",\"id\":5}");
            JsonNode stray = acme.poll(Duration.ofMillis(200));
            assertTrue(stray == null || !stray.toString().contains("secret"), "leaked: " + stray);
            // the same opId in another tenant is another operation
            assertEquals("applied", acme.request(6, "{\"op\":\"doc.update\",\"id\":6,\"docType\":\"note\",\"docId\":\"g-1\","
                    + "\"baseVersion\":0,\"opId\":\"g:1\",\"data\":{}}").path("result").asText());
        }
    }

    @Test
    void oversizeFramesCloseWith1009() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            c.sendInvalid("{\"op\":\"ping\",\"id\":2,\"pad\":\"" + "x".repeat(70_000) + "\"}");
            assertEquals(1009, c.closeCode());
        }
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            String chunk = "y".repeat(30_000);
            c.sendFragmentsToBeRefused("{\"op\":\"ping\",\"pad\":\"", chunk, chunk, chunk, "\"}");
            assertEquals(1009, c.closeCode());
        }
    }

    @Test
    void aFloodWithoutIdsGetsOneErrorThenTheCloseAndTheOthersAreServed() throws Exception {
        try (TestGateway strict = TestGateway.start(Map.of("tandem.limits.messages-per-second", "1",
                "tandem.limits.burst", "5", "tandem.limits.flood-strikes", "20"));
             WsProbe flood = ContractProbes.connect(strict.ws(), TestGateway.token("mallory", "acme"));
             WsProbe calm = ContractProbes.connect(strict.ws(), TestGateway.token("bob", "acme"))) {
            for (int i = 0; i < 100 && !flood.closed.isDone(); i++) {
                try {
                    flood.send("{\"op\":\"ping\"}");
                } catch (RuntimeException e) {
                    break;
                }
            }
            assertEquals("rate_limited", flood.expect(f -> f.path("op").asText().equals("error")).path("code").asText());
            assertEquals(4008, flood.expect(f -> f.path("op").asText().equals("disconnect")).path("code").asInt());
            assertEquals("reply", calm.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText());
        }
    }
}
