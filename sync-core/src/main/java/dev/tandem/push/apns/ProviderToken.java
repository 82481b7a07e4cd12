package dev.tandem.push.apns;

import java.security.PrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.tandem.push.support.Jws;

/**
 * The APNs provider token: an ES256 JWT with {@code kid} = the key id in its header and {@code iss}
 * = the team id and {@code iat} in its claims. Apple refuses a token older than an hour and one
 * renewed more often than every 20 minutes, so it is made anew every {@link #LIFETIME}. Signing
 * is local work, so a lock around it does no I/O.
 */
final class ProviderToken {
    /** How long a token is used. */
    static final Duration LIFETIME = Duration.ofMinutes(50);

    private final PrivateKey key;
    private final String keyId;
    private final String teamId;
    private final Clock clock;
    private String token;
    private Instant issuedAt = Instant.MIN;

    ProviderToken(PrivateKey key, String keyId, String teamId, Clock clock) {
        this.key = key;
        this.keyId = keyId;
        this.teamId = teamId;
        this.clock = clock;
    }

    /** The current token, made anew when it is {@link #LIFETIME} old. */
    synchronized String get() {
        Instant now = clock.instant();
        if (token == null || !now.isBefore(issuedAt.plus(LIFETIME))) {
            Map<String, Object> claims = new LinkedHashMap<>();
            claims.put("iss", teamId);
            claims.put("iat", now.getEpochSecond());
            token = Jws.sign(Jws.Alg.ES256, Map.of("kid", keyId), claims, key);
            issuedAt = now;
        }
        return token;
    }

    /** Forgets this token (APNs answered {@code ExpiredProviderToken}), so the next {@link #get} makes one. */
    synchronized void expire(String value) {
        if (value.equals(token)) {
            token = null;
        }
    }
}
