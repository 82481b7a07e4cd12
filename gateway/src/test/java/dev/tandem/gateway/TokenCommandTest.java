package dev.tandem.gateway;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.tandem.auth.Principal;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenCommandTest {
    private static Config config(Map<String, String> overrides) {
        return Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(overrides), ConfigSources.classpath("application.yaml")).build();
    }

    @Test
    void theLastLinePrintedIsATokenTheGatewayAccepts() {
        Config root = config(Map.of());
        String out = TokenCommand.run(new String[] {"--user", "alice", "--tenant", "acme", "--role", "service",
                "--location", "wh-7", "--workspace", "w1", "--ttl", "2h"}, root);
        String[] lines = out.split("\n");
        Principal p = JwtVerifier.create(root.get("tandem.auth"), true).verify(lines[lines.length - 1]);
        assertEquals("alice", p.user());
        assertEquals("acme", p.tenant());
        assertTrue(p.hasRole("service"));
        assertTrue(p.inScope("locations", "wh-7"));
        assertTrue(p.inScope("workspaces", "w1"));
        assertTrue(p.expiresAt().orElseThrow().isAfter(java.time.Instant.now().plus(Duration.ofMinutes(110))));
    }

    @Test
    void tokensCarryTheConfiguredIssuerAndAudience() {
        Config root = config(Map.of("tandem.auth.issuer", "https://idp", "tandem.auth.audience", "tandem"));
        String out = TokenCommand.run(new String[] {"--user", "a", "--tenant", "t"}, root);
        String token = out.substring(out.lastIndexOf('\n') + 1);
        assertEquals("a", JwtVerifier.create(root.get("tandem.auth"), true).verify(token).user());
    }

    @Test
    void aGatewayOutsideDevelopmentModeRefusesTheDevelopmentSecretOrNoKeys() {
        Config none = config(Map.of());
        IllegalArgumentException noKeys = assertThrows(IllegalArgumentException.class,
                () -> JwtVerifier.create(none.get("tandem.auth"), false));
        assertTrue(noKeys.getMessage().contains("dev-mode"), noKeys.getMessage());
        Config dev = config(Map.of("tandem.auth.hs256-secret", DevTokens.DEV_SECRET));
        assertThrows(IllegalArgumentException.class, () -> JwtVerifier.create(dev.get("tandem.auth"), false));
        Config own = config(Map.of("tandem.auth.hs256-secret", "our-own-secret-that-is-long-enough-1234"));
        String token = DevTokens.mint("our-own-secret-that-is-long-enough-1234", "a", "t", java.util.List.of(),
                Map.of(), Duration.ofMinutes(5), java.util.Optional.empty(), java.util.Optional.empty());
        JwtVerifier verifier = JwtVerifier.create(own.get("tandem.auth"), false);
        assertEquals("a", verifier.verify(token).user());
        assertTrue(!verifier.trustsDevelopmentSecret());
    }

    @Test
    void wronglyTypedClaimsAreUnauthorizedNotCrashes() {
        JwtVerifier verifier = JwtVerifier.create(config(Map.of()).get("tandem.auth"), true);
        java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
        for (String payload : new String[] {"{\"sub\":\"a\",\"tid\":\"t\",\"exp\":\"x\"}",
                "{\"sub\":\"a\",\"tid\":\"t\",\"zoneinfo\":\"bad\"}", "{\"sub\":\"a\",\"groups\":[1]}"}) {
            String token = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes())
                    + "." + b64.encodeToString(payload.getBytes()) + ".c2ln";
            dev.tandem.protocol.ProtocolException e = assertThrows(dev.tandem.protocol.ProtocolException.class,
                    () -> verifier.verify(token));
            assertEquals(dev.tandem.protocol.ErrorCode.UNAUTHORIZED, e.code());
        }
    }

    @Test
    void refusesMissingOrMalformedOptions() {
        Config root = config(Map.of());
        assertThrows(IllegalArgumentException.class, () -> TokenCommand.run(new String[] {"--user", "a"}, root));
        assertThrows(IllegalArgumentException.class, () -> TokenCommand.run(new String[] {"--user"}, root));
        assertThrows(IllegalArgumentException.class, () -> TokenCommand.run(new String[] {"--colour", "red"}, root));
        assertThrows(IllegalArgumentException.class, () -> TokenCommand.parseDuration("soon"));
        assertThrows(IllegalArgumentException.class, () -> TokenCommand.parseDuration("-5m"));
        assertEquals(Duration.ofMinutes(30), TokenCommand.parseDuration("30m"));
        assertEquals(Duration.ofDays(7), TokenCommand.parseDuration("7d"));
        assertEquals(Duration.ofHours(1), TokenCommand.parseDuration("PT1H"));
    }
}
