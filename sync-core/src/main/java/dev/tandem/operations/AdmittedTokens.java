package dev.tandem.operations;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

import dev.tandem.auth.Principal;

/**
 * What the connect hook answered for the tokens of requests that stand apart from their
 * connection (an event stream's POSTs that reach a node other than the stream's): asked once per
 * token on a node, then kept while the token is valid, at most {@value #MAX_AGE_MINUTES} minutes,
 * for at most {@value #MAX_TOKENS} tokens. So such a request acts as the principal its stream's
 * connect hook admitted (the same claims and roles, the same refusal), without asking the
 * backend per request. A refusal is not kept: the next request asks again.
 *
 * <p>Tokens are kept as SHA-256 digests, never as they are.
 */
final class AdmittedTokens {
    static final int MAX_TOKENS = 10_000;
    static final int MAX_AGE_MINUTES = 10;

    private final Clock clock;
    private final Map<String, Admitted> byDigest = new ConcurrentHashMap<>();

    private record Admitted(Principal principal, long untilMillis) {
    }

    AdmittedTokens(Clock clock) {
        this.clock = clock;
    }

    /**
     * The principal the hook admitted for {@code token}, verified as {@code verified}: the kept
     * answer, or {@code hook}'s, then kept.
     */
    Principal admitted(String token, Principal verified, UnaryOperator<Principal> hook) {
        Admitted kept = byDigest.get(digest(token));
        if (kept != null && clock.millis() < kept.untilMillis()) {
            return kept.principal();
        }
        Principal p = hook.apply(verified);
        keep(token, verified, p);
        return p;
    }

    /** Keeps what the hook admitted for {@code token} (verified as {@code verified}), e.g. when a stream opened with it. */
    void keep(String token, Principal verified, Principal admitted) {
        long now = clock.millis();
        long until = now + MAX_AGE_MINUTES * 60_000L;
        if (verified.expiresAt().isPresent()) {
            until = Math.min(until, verified.expiresAt().get().toEpochMilli());
        }
        if (byDigest.size() >= MAX_TOKENS) {
            byDigest.values().removeIf(a -> a.untilMillis() <= now);
            if (byDigest.size() >= MAX_TOKENS) {
                byDigest.clear(); // bounded: asking the hook again is the cost
            }
        }
        byDigest.put(digest(token), new Admitted(admitted, until));
    }

    private static String digest(String token) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                    .digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
