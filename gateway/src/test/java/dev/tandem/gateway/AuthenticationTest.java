package dev.tandem.gateway;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.helidon.security.jwt.Jwt;
import io.helidon.security.jwt.SignedJwt;
import io.helidon.security.jwt.jwk.Jwk;
import io.helidon.security.jwt.jwk.JwkEC;
import io.helidon.security.jwt.jwk.JwkRSA;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AuthenticationTest {
    private static TestGateway node;

    @BeforeAll
    static void start() {
        node = TestGateway.start(Map.of("tandem.limits.auth-timeout", "PT1S"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    private static boolean isOp(JsonNode f, String op) {
        return f.path("op").asText().equals(op);
    }

    @Test
    void acceptsABearerTokenOnTheUpgradeRequest() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws(), Map.of("Authorization", "Bearer " + TestGateway.token("alice", "acme")))) {
            JsonNode welcome = c.next();
            assertEquals("welcome", welcome.path("op").asText());
            assertEquals("alice", welcome.path("user").asText());
            assertEquals("acme", welcome.path("tenant").asText());
            assertEquals("test-node", welcome.path("node").asText());
            assertTrue(welcome.path("limits").path("maxFrameBytes").asInt() > 0);
            assertEquals("tandem.v1", c.subprotocol());
        }
    }

    @Test
    void aSubprotocolListWithoutSpacesIsUnderstood() throws Exception {
        for (String offered : new String[] {"chat,tandem.v1", "chat, tandem.v1", "tandem.v1,chat"}) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", node.gateway.port())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Protocol: " + offered + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    head.append((char) s.getInputStream().read());
                }
                assertTrue(head.toString().startsWith("HTTP/1.1 101"), offered + ": " + head);
                assertTrue(head.toString().toLowerCase(java.util.Locale.ROOT).contains("sec-websocket-protocol: tandem.v1"),
                        offered + ": " + head);
            }
        }
    }

    @Test
    void anUpgradeOfferingNoSubprotocolIsAnsweredWithoutOneAndTheNextStillGetsIt() throws Exception {
        for (String offered : new String[] {"", "Sec-WebSocket-Protocol: tandem.v1\r\n", ""}) {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", node.gateway.port())) {
                s.setSoTimeout(5000);
                s.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        + offered + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    head.append((char) s.getInputStream().read());
                }
                assertTrue(head.toString().startsWith("HTTP/1.1 101"), offered + ": " + head);
                assertEquals(!offered.isEmpty(), head.toString().toLowerCase(java.util.Locale.ROOT)
                        .contains("sec-websocket-protocol: tandem.v1"), offered + ": " + head);
            }
        }
    }

    @Test
    void acceptsATokenInAFirstConnectFrame() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws())) {
            c.send("{\"op\":\"connect\",\"id\":7,\"token\":\"" + TestGateway.token("bob", "acme") + "\"}");
            assertEquals("welcome", c.next().path("op").asText());
            JsonNode reply = c.answer(7);
            assertEquals("reply", reply.path("op").asText());
        }
    }

    @Test
    void refusesEverythingButConnectBeforeAuthenticationAndStaysOpen() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws())) {
            JsonNode e = c.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\"}");
            assertEquals("unauthorized", e.path("code").asText());
            c.send("{\"op\":\"connect\",\"id\":3,\"token\":\"" + TestGateway.token("bob", "acme") + "\"}");
            c.expect(f -> isOp(f, "welcome"));
        }
    }

    @Test
    void closesAConnectionThatNeverAuthenticates() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws())) {
            JsonNode d = c.expect(f -> isOp(f, "disconnect"));
            assertEquals(4002, d.path("code").asInt());
            assertEquals(4002, c.closeCode());
        }
    }

    @Test
    void refusesATokenWithABadSignature() throws Exception {
        String forged = DevTokens.mint("another-secret-that-is-long-enough-0123456789", "mallory", "acme", List.of(),
                Map.of(), Duration.ofHours(1), java.util.Optional.empty(), java.util.Optional.empty());
        assertRefused(forged, "invalid signature");
    }

    @Test
    void aTokenAlreadyExpiredAtConnectClosesWith4003SoTheClientFetchesANewOne() throws Exception {
        String expired = DevTokens.mint(TestGateway.SECRET, "alice", "acme", List.of(), Map.of(),
                Duration.ofMinutes(-5), java.util.Optional.empty(), java.util.Optional.empty());
        try (WsProbe c = ContractProbes.open(node.ws())) {
            c.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + expired + "\"}");
            JsonNode e = c.answer(1);
            assertEquals("unauthorized", e.path("code").asText());
            assertTrue(e.path("message").asText().contains("expired"), e.path("message").asText());
            JsonNode d = c.expect(f -> isOp(f, "disconnect"));
            assertEquals(4003, d.path("code").asInt());
            assertTrue(d.path("reconnect").asBoolean());
            assertEquals(4003, c.closeCode());
        }
        try (WsProbe c = ContractProbes.open(node.ws(), Map.of("Authorization", "Bearer " + expired))) {
            assertEquals("unauthorized", c.expect(f -> isOp(f, "error")).path("code").asText());
            assertTrue(c.expect(f -> isOp(f, "disconnect")).path("reconnect").asBoolean());
            assertEquals(4003, c.closeCode());
        }
    }

    @Test
    void refusesAlgNoneAndGarbage() throws Exception {
        String header = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
        String payload = b64("{\"sub\":\"alice\",\"tid\":\"acme\",\"exp\":" + (Instant.now().getEpochSecond() + 600) + "}");
        assertRefused(header + "." + payload + ".", "not accepted");
        assertRefused("not-a-jwt", "malformed");
    }

    @Test
    void refusesABadUpgradeTokenWithTheUnauthorizedCloseCode() throws Exception {
        try (WsProbe c = ContractProbes.open(node.ws(), Map.of("Authorization", "Bearer nonsense"))) {
            assertEquals("unauthorized", c.expect(f -> isOp(f, "error")).path("code").asText());
            JsonNode d = c.expect(f -> isOp(f, "disconnect"));
            assertFalse(d.path("reconnect").asBoolean());
            assertEquals(4001, c.closeCode());
        }
    }

    @Test
    void closesWithTokenExpiredWhenTheTokenRunsOut() throws Exception {
        String shortLived = TestGateway.token("alice", "acme", Map.of(), Duration.ofSeconds(3));
        try (WsProbe c = ContractProbes.connect(node.ws(), shortLived)) {
            JsonNode d = c.expect(f -> isOp(f, "disconnect"));
            assertEquals(4003, d.path("code").asInt());
            assertTrue(d.path("reconnect").asBoolean());
            assertEquals(4003, c.closeCode());
        }
    }

    @Test
    void refreshKeepsTheConnectionPastTheFirstTokensExpiry() throws Exception {
        String shortLived = TestGateway.token("alice", "acme", Map.of(), Duration.ofSeconds(4));
        try (WsProbe c = ContractProbes.connect(node.ws(), shortLived)) {
            JsonNode reply = c.request(5, "{\"op\":\"refresh\",\"id\":5,\"token\":\"" + TestGateway.token("alice", "acme") + "\"}");
            assertEquals("reply", reply.path("op").asText());
            assertTrue(Instant.parse(reply.path("expiresAt").asText()).isAfter(Instant.now().plusSeconds(600)));
            assertNull(c.poll(Duration.ofSeconds(5)), "no disconnect after the old expiry");
            assertEquals("reply", c.request(6, "{\"op\":\"ping\",\"id\":6}").path("op").asText());
        }
    }

    @Test
    void refreshWithAnotherUsersTokenIsForbidden() throws Exception {
        try (WsProbe c = ContractProbes.connect(node.ws(), TestGateway.token("alice", "acme"))) {
            JsonNode e = c.request(5, "{\"op\":\"refresh\",\"id\":5,\"token\":\"" + TestGateway.token("bob", "acme") + "\"}");
            assertEquals("forbidden", e.path("code").asText());
            assertEquals("reply", c.request(6, "{\"op\":\"ping\",\"id\":6}").path("op").asText());
        }
    }

    @Test
    void checksIssuerAndAudienceWhenConfigured() throws Exception {
        try (TestGateway strict = TestGateway.start(Map.of("tandem.auth.issuer", "https://idp.example",
                "tandem.auth.audience", "tandem"))) {
            String plain = TestGateway.token("alice", "acme");
            String wrongAudience = DevTokens.mint(TestGateway.SECRET, "alice", "acme", List.of(), Map.of(),
                    Duration.ofHours(1), java.util.Optional.of("https://idp.example"), java.util.Optional.of("other"));
            String good = DevTokens.mint(TestGateway.SECRET, "alice", "acme", List.of(), Map.of(), Duration.ofHours(1),
                    java.util.Optional.of("https://idp.example"), java.util.Optional.of("tandem"));
            assertRefusedBy(strict, plain, "wrong");
            assertRefusedBy(strict, wrongAudience, "audience");
            try (WsProbe c = ContractProbes.connect(strict.ws(), good)) {
                assertEquals("reply", c.request(9, "{\"op\":\"ping\",\"id\":9}").path("op").asText());
            }
        }
    }

    @Test
    void verifiesRs256AndEs256TokensAgainstAJwksFile(@TempDir Path dir) throws Exception {
        KeyPairGenerator rsaGen = KeyPairGenerator.getInstance("RSA");
        rsaGen.initialize(2048);
        KeyPair rsa = rsaGen.generateKeyPair();
        KeyPairGenerator ecGen = KeyPairGenerator.getInstance("EC");
        ecGen.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair ec = ecGen.generateKeyPair();
        RSAPublicKey rsaPub = (RSAPublicKey) rsa.getPublic();
        ECPublicKey ecPub = (ECPublicKey) ec.getPublic();
        String jwks = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\""
                + b64(rsaPub.getModulus()) + "\",\"e\":\"" + b64(rsaPub.getPublicExponent()) + "\"},"
                + "{\"kty\":\"EC\",\"kid\":\"e1\",\"alg\":\"ES256\",\"use\":\"sig\",\"crv\":\"P-256\",\"x\":\""
                + b64(ecPub.getW().getAffineX(), 32) + "\",\"y\":\"" + b64(ecPub.getW().getAffineY(), 32) + "\"}]}";
        Path file = dir.resolve("jwks.json");
        Files.writeString(file, jwks);
        Jwk rsaKey = JwkRSA.builder().publicKey(rsaPub).privateKey((RSAPrivateKey) rsa.getPrivate())
                .keyId("r1").algorithm("RS256").build();
        Jwk ecKey = JwkEC.builder().publicKey(ecPub).privateKey((ECPrivateKey) ec.getPrivate())
                .keyId("e1").algorithm("ES256").build();
        try (TestGateway prod = TestGateway.start(Map.of("tandem.dev-mode", "false",
                "tandem.auth.jwks-file", file.toString()))) {
            try (WsProbe c = ContractProbes.connect(prod.ws(), sign(rsaKey, "RS256", "r1", "alice"))) {
                assertEquals("reply", c.request(9, "{\"op\":\"ping\",\"id\":9}").path("op").asText());
            }
            try (WsProbe c = ContractProbes.connect(prod.ws(), sign(ecKey, "ES256", "e1", "bob"))) {
                assertEquals("reply", c.request(9, "{\"op\":\"ping\",\"id\":9}").path("op").asText());
            }
            // outside development mode the development HMAC secret is not trusted
            assertRefusedBy(prod, TestGateway.token("alice", "acme"), "not configured");
            // a token claiming RS256 but naming the EC key is refused
            assertRefusedBy(prod, sign(ecKey, "ES256", "r1", "eve"), "");
        }
    }

    private static String sign(Jwk key, String alg, String kid, String user) {
        Instant now = Instant.now();
        Jwt jwt = Jwt.builder().algorithm(alg).keyId(kid).subject(user).issueTime(now)
                .expirationTime(now.plusSeconds(600)).addPayloadClaim("tid", "acme").build();
        return SignedJwt.sign(jwt, key).tokenContent();
    }

    private static void assertRefused(String token, String why) throws Exception {
        assertRefusedBy(node, token, why);
    }

    private static void assertRefusedBy(TestGateway gw, String token, String why) throws Exception {
        try (WsProbe c = ContractProbes.open(gw.ws())) {
            c.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + token + "\"}");
            JsonNode e = c.answer(1);
            assertEquals("error", e.path("op").asText());
            assertEquals("unauthorized", e.path("code").asText());
            assertTrue(e.path("message").asText().contains(why), e.path("message").asText());
            assertFalse(e.path("message").asText().contains(token), "the token must never be echoed");
            assertEquals(4001, c.closeCode());
        }
    }

    private static String b64(String s) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String b64(BigInteger i) {
        byte[] b = i.toByteArray();
        if (b[0] == 0 && b.length > 1) {
            b = java.util.Arrays.copyOfRange(b, 1, b.length);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String b64(BigInteger i, int len) {
        byte[] b = i.toByteArray();
        byte[] out = new byte[len];
        int copy = Math.min(len, b.length);
        System.arraycopy(b, b.length - copy, out, len - copy, copy);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(out);
    }
}
