package dev.tandem.auth;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who is on the other end of a connection or an API call, as established by a verified
 * token: the user, the tenant every channel is scoped to, roles, and scope claims such as
 * {@code locations} or {@code workspaces} (lists of ids, {@code "*"} meaning all).
 *
 * @param tenant    tenant id ({@code tid} claim)
 * @param user      user id ({@code sub} claim)
 * @param roles     role names ({@code roles} claim)
 * @param scopes    scope claims by name
 * @param expiresAt when the credentials expire, if they do
 * @param tokenId   the token's id ({@code jti} claim), if it has one: revocable by it
 * @param issuedAt  when the token was issued ({@code iat} claim), if it says: revocable by time
 */
public record Principal(String tenant, String user, Set<String> roles, Map<String, List<String>> scopes,
                        Optional<Instant> expiresAt, Optional<String> tokenId, Optional<Instant> issuedAt) {
    /** The value of a scope claim that grants every id. */
    public static final String ALL = "*";

    /**
     * Validates and copies the fields. The tenant and role names are interned: each connection
     * holds its principal for its whole life, and these few names repeat across all of them
     * (each token parse makes new copies).
     */
    public Principal {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(user, "user");
        tenant = tenant.intern();
        roles = interned(Set.copyOf(roles));
        scopes = Map.copyOf(scopes);
        Objects.requireNonNull(expiresAt, "expiresAt");
        Objects.requireNonNull(tokenId, "tokenId");
        Objects.requireNonNull(issuedAt, "issuedAt");
    }

    /** A principal whose token has no id and no issue time. */
    public Principal(String tenant, String user, Set<String> roles, Map<String, List<String>> scopes,
                     Optional<Instant> expiresAt) {
        this(tenant, user, roles, scopes, expiresAt, Optional.empty(), Optional.empty());
    }

    private static Set<String> interned(Set<String> names) {
        return names.isEmpty() ? names : names.stream().map(String::intern).collect(Collectors.toUnmodifiableSet());
    }

    /** The same principal with other roles and scopes (a backend hook's additions). */
    public Principal with(Set<String> roles, Map<String, List<String>> scopes) {
        return new Principal(tenant, user, roles, scopes, expiresAt, tokenId, issuedAt);
    }

    /** Whether the principal has the role. */
    public boolean hasRole(String role) {
        return roles.contains(role);
    }

    /** Whether the scope claim {@code claim} lists {@code id} or {@code "*"}. */
    public boolean inScope(String claim, String id) {
        List<String> ids = scopes.get(claim);
        return ids != null && (ids.contains(id) || ids.contains(ALL));
    }

    /**
     * When the credentials expire, in epoch milliseconds, saturated ({@link Long#MAX_VALUE}:
     * never; an expiry beyond a long's milliseconds counts as never too).
     */
    public long expiresAtMillis() {
        if (expiresAt.isEmpty()) {
            return Long.MAX_VALUE;
        }
        try {
            return expiresAt.get().toEpochMilli();
        } catch (ArithmeticException e) {
            return expiresAt.get().isBefore(Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    /** Whether the credentials have expired at {@code now}. */
    public boolean expiredAt(Instant now) {
        return expiresAt.map(exp -> !now.isBefore(exp)).orElse(false);
    }
}
