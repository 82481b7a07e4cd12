package dev.tandem.gateway;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.helidon.security.jwt.Jwt;
import io.helidon.security.jwt.SignedJwt;

/**
 * Mints HS256 development tokens with the shared secret a standalone gateway trusts. Never use
 * these in production: anyone who knows the secret can mint any identity.
 */
public final class DevTokens {
    /**
     * The public development secret: what {@code ./tandem token} signs with when no secret is
     * configured, and what a gateway trusts only in development mode ({@code tandem.dev-mode}).
     */
    public static final String DEV_SECRET = "tandem-development-secret-do-not-use-in-production";

    private DevTokens() {
    }

    /**
     * A signed token.
     *
     * @param secret   the shared secret ({@code tandem.auth.hs256-secret})
     * @param user     {@code sub}
     * @param tenant   {@code tid}
     * @param roles    {@code roles}
     * @param scopes   scope claims such as {@code locations}
     * @param ttl      lifetime from now
     * @param issuer   {@code iss}, when the gateway checks it
     * @param audience {@code aud}, when the gateway checks it
     * @return the compact JWT
     */
    public static String mint(String secret, String user, String tenant, List<String> roles,
                              Map<String, List<String>> scopes, Duration ttl, Optional<String> issuer,
                              Optional<String> audience) {
        Instant now = Instant.now();
        Jwt.Builder jwt = Jwt.builder()
                .algorithm("HS256")
                .keyId(JwtVerifier.HMAC_KID)
                .type("JWT")
                .subject(user)
                .jwtId(java.util.UUID.randomUUID().toString())
                .issueTime(now)
                .notBefore(now)
                .expirationTime(now.plus(ttl))
                .addPayloadClaim("tid", tenant)
                .addPayloadClaim("roles", List.copyOf(roles));
        scopes.forEach((claim, ids) -> jwt.addPayloadClaim(claim, List.copyOf(ids)));
        issuer.ifPresent(jwt::issuer);
        audience.ifPresent(jwt::addAudience);
        return SignedJwt.sign(jwt.build(), JwtVerifier.octet(secret)).tokenContent();
    }
}
