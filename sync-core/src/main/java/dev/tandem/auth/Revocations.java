package dev.tandem.auth;

import java.time.Instant;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Revoked tokens and disconnected users, across every node of a cluster (the in-memory adapter
 * for one standalone node, the Redis adapter in the queue module for a cluster; both pass the
 * same conformance suite). A token is revoked by its id ({@code jti}), or all of a user's tokens
 * issued before a time; a revocation is kept until the tokens it names have expired, so they
 * cannot connect again meanwhile. Every node hears each revocation and disconnect within a
 * second and closes its matching connections ({@link #listen}).
 */
public interface Revocations extends AutoCloseable {

    /** What every node hears. */
    sealed interface Notice {
        /** The tenant it concerns. */
        String tenant();
    }

    /**
     * A token was revoked by its id.
     *
     * @param tenant  the tenant
     * @param tokenId the {@code jti}
     */
    record TokenRevoked(String tenant, String tokenId) implements Notice {
        /** Validates the fields. */
        public TokenRevoked {
            Objects.requireNonNull(tenant, "tenant");
            Objects.requireNonNull(tokenId, "tokenId");
        }
    }

    /**
     * Every token of a user issued before a time was revoked.
     *
     * @param tenant       the tenant
     * @param user         the user
     * @param issuedBefore tokens issued before this (or without {@code iat}) are revoked
     */
    record UserRevoked(String tenant, String user, Instant issuedBefore) implements Notice {
        /** Validates the fields. */
        public UserRevoked {
            Objects.requireNonNull(tenant, "tenant");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(issuedBefore, "issuedBefore");
        }
    }

    /**
     * Every connection of a user is to be closed (its tokens stay valid).
     *
     * @param tenant the tenant
     * @param user   the user
     */
    record UserDisconnected(String tenant, String user) implements Notice {
        /** Validates the fields. */
        public UserDisconnected {
            Objects.requireNonNull(tenant, "tenant");
            Objects.requireNonNull(user, "user");
        }
    }

    /** Revokes a token by its id, remembered until {@code keepUntil} (its expiry). */
    void revokeToken(String tenant, String tokenId, Instant keepUntil);

    /**
     * Revokes every token of the user issued before {@code issuedBefore}, remembered until
     * {@code keepUntil} (when the last of them has expired); a later cutoff replaces an earlier one.
     */
    void revokeUser(String tenant, String user, Instant issuedBefore, Instant keepUntil);

    /** Tells every node to close the user's connections. */
    void disconnectUser(String tenant, String user);

    /** Whether the principal's token is revoked. */
    boolean revoked(Principal principal);

    /** Adds a listener told of every notice, from any node (including this one); must not block. */
    void listen(Consumer<Notice> listener);

    /** Stops listening and releases connections. */
    @Override
    void close();

    /** Whether a notice concerns the principal's connections. */
    static boolean concerns(Notice notice, Principal p) {
        if (!notice.tenant().equals(p.tenant())) {
            return false;
        }
        return switch (notice) {
            case TokenRevoked t -> p.tokenId().map(t.tokenId()::equals).orElse(false);
            case UserRevoked u -> u.user().equals(p.user()) && p.issuedAt().map(at -> at.isBefore(u.issuedBefore()))
                    .orElse(true);
            case UserDisconnected d -> d.user().equals(p.user());
        };
    }
}
