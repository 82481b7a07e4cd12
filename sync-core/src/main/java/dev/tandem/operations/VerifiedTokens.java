package dev.tandem.operations;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.tandem.auth.Principal;

/**
 * Service tokens the verifier accepted in the last {@value #KEEP_SECONDS} seconds, by their exact
 * text: a backend sends the same token with every REST call, and checking its signature and
 * claims again each time was nearly half of a publication's work on the node. What depends on
 * the time or on the fleet is still judged per call by {@link Authentication} (expiry,
 * revocations); a token whose key was taken out of the trusted keys stops being accepted at most
 * {@value #KEEP_SECONDS} seconds later. A refused token is never kept. At most
 * {@value #MAX_TOKENS} tokens: beyond that the set starts afresh.
 */
final class VerifiedTokens {
    static final int MAX_TOKENS = 256;
    static final long KEEP_SECONDS = 60;
    private static final long KEEP_NANOS = TimeUnit.SECONDS.toNanos(KEEP_SECONDS);

    private record Verified(Principal principal, long atNanos) {
    }

    private final Map<String, Verified> tokens = new ConcurrentHashMap<>();

    /** The principal of {@code token}: kept from a recent check, or checked by {@code verifier} now. */
    Principal verified(String token, Function<String, Principal> verifier) {
        long now = System.nanoTime();
        Verified v = tokens.get(token);
        if (v != null && now - v.atNanos() < KEEP_NANOS) {
            return v.principal();
        }
        Principal p = verifier.apply(token); // throws for a token that is not acceptable: nothing kept
        if (tokens.size() >= MAX_TOKENS) {
            tokens.clear();
        }
        tokens.put(token, new Verified(p, now));
        return p;
    }
}
