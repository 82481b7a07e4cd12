package dev.tandem.push.webpush;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.tandem.push.support.Jws;

/**
 * The VAPID {@code Authorization} header (RFC 8292): {@code vapid t=<ES256 JWT>, k=<public key>},
 * the JWT with {@code aud} = the endpoint's origin, {@code exp} = now + the lifetime (at most 24 h)
 * and {@code sub} = the operator's contact. A token is reused for its origin until half its
 * lifetime is gone, so a busy node signs about twice a day per push service, not per message.
 */
final class VapidTokens {
    /** Origins remembered at most; past that the cache starts over (each origin costs one signature). */
    private static final int MAX_ORIGINS = 1024;

    private final VapidKeys keys;
    private final String subject;
    private final Duration lifetime;
    private final Clock clock;
    private final Map<String, Token> byOrigin = new ConcurrentHashMap<>();

    private record Token(String header, Instant renewAt) {
    }

    VapidTokens(VapidKeys keys, String subject, Duration lifetime, Clock clock) {
        this.keys = keys;
        this.subject = subject;
        this.lifetime = lifetime;
        this.clock = clock;
    }

    /** The header value for a request to this endpoint. */
    String authorization(URI endpoint) {
        String origin = origin(endpoint);
        Instant now = clock.instant();
        Token t = byOrigin.get(origin);
        if (t == null || !now.isBefore(t.renewAt())) {
            t = sign(origin, now);
            if (byOrigin.size() >= MAX_ORIGINS) {
                byOrigin.clear();
            }
            byOrigin.put(origin, t);
        }
        return t.header();
    }

    private Token sign(String origin, Instant now) {
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("aud", origin);
        claims.put("exp", now.plus(lifetime).getEpochSecond());
        claims.put("sub", subject);
        String jwt = Jws.sign(Jws.Alg.ES256, Map.of("typ", "JWT"), claims, keys.privateKey());
        return new Token("vapid t=" + jwt + ", k=" + keys.publicKeyBase64Url(), now.plus(lifetime.dividedBy(2)));
    }

    /** The ASCII serialization of the endpoint's origin: scheme, host and a port only when not the default. */
    static String origin(URI endpoint) {
        String scheme = endpoint.getScheme().toLowerCase(Locale.ROOT);
        String host = endpoint.getHost().toLowerCase(Locale.ROOT);
        int port = endpoint.getPort();
        boolean defaultPort = port == -1 || (scheme.equals("https") && port == 443) || (scheme.equals("http") && port == 80);
        return scheme + "://" + host + (defaultPort ? "" : ":" + port);
    }
}
