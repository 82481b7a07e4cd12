package dev.tandem.operations;

import java.time.Clock;
import java.time.Instant;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * Who is calling: every token is checked here, once per connection or request, the same way for
 * clients and services (the verifier, then the expiry and the revocations); a connection's token
 * is then shown to the backend's {@link Hooks#connect} hook, once per connection. During a
 * connection its session watches the token's expiry.
 */
public final class Authentication {
    /** The latest expiry a token may name (the end of year 9999). */
    static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59Z");

    private final TokenVerifier verifier;
    private final Clock clock;
    private final Revocations revocations;
    private final Hooks hooks;
    private final String serviceRole;
    private final AdmittedTokens admittedTokens;
    private final VerifiedTokens serviceTokens = new VerifiedTokens();

    Authentication(TokenVerifier verifier, Clock clock, Revocations revocations, Hooks hooks, String serviceRole) {
        this.verifier = verifier;
        this.clock = clock;
        this.revocations = revocations;
        this.hooks = hooks;
        this.serviceRole = serviceRole;
        this.admittedTokens = new AdmittedTokens(clock);
    }

    /**
     * Verifies a connection's token (a {@code connect}, {@code refresh} or upgrade header) and
     * lets the {@link Hooks#connect} hook see the principal.
     *
     * @return the principal and the channels the backend subscribes the connection to
     * @throws TokenExpiredException when the token has expired (the client should fetch a new one)
     * @throws TokenRevokedException when the token was revoked
     * @throws ProtocolException     {@code UNAUTHORIZED} for a token that is not acceptable,
     *                               {@code FORBIDDEN} when the backend refuses,
     *                               {@code UNAVAILABLE} when the backend cannot be asked
     */
    public Hooks.Admitted connection(String token) {
        return hooks.connect(verify(token));
    }

    /**
     * Verifies an event stream's token and asks the connect hook, as {@link #connection}; the
     * hook's answer is kept for the token's requests that reach this node apart from the stream
     * ({@link #detachedRequest}), so they are not asked about again.
     */
    public Hooks.Admitted stream(String token) {
        Principal p = verify(token);
        Hooks.Admitted admitted = hooks.connect(p);
        admittedTokens.keep(token, p, admitted.principal());
        return admitted;
    }

    /**
     * Verifies the token of a request made on behalf of a connection this node holds (an event
     * stream's POST naming its session): the connection's principal, which its connect hook
     * admitted, is the one that acts; the token only has to be valid.
     *
     * @throws ProtocolException {@code UNAUTHORIZED} for a token that is not acceptable (or expired, revoked)
     */
    public Principal request(String token) {
        return verify(token);
    }

    /**
     * Verifies the token of a request whose connection is not on this node (an event stream's
     * POST that reached another node, or named no session): it acts as the principal the
     * {@link Hooks#connect} hook admitted for this token, asked once per token on this node (see
     * {@link AdmittedTokens}), never once per request.
     *
     * @throws ProtocolException as {@link #connection}
     */
    public Principal detachedRequest(String token) {
        Principal p = verify(token);
        return admittedTokens.admitted(token, p, v -> hooks.connect(v).principal());
    }

    /**
     * Verifies a service's token for the REST API. The signature and claims of a token checked
     * in the last minute are not checked again ({@link VerifiedTokens}); its expiry and the
     * revocations are, every time.
     *
     * @throws ProtocolException {@code UNAUTHORIZED} for a token that is not acceptable,
     *                           {@code FORBIDDEN} without the service role
     */
    public Principal service(String token) {
        Principal p = checked(serviceTokens.verified(token, verifier::verify));
        if (!p.hasRole(serviceRole)) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "the service API needs the '" + serviceRole + "' role");
        }
        return p;
    }

    /**
     * The one check of a token, for clients and services alike: the verifier (signature,
     * issuer, audience, claims), then the expiry (in range, not past) and the revocations.
     */
    private Principal verify(String token) {
        return checked(verifier.verify(token));
    }

    /** The checks of a verified token's principal that depend on the time and the revocations. */
    private Principal checked(Principal p) {
        Optional<Instant> exp = p.expiresAt();
        if (exp.isPresent() && exp.get().isAfter(LATEST_EXPIRY)) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "token expiry out of range");
        }
        if (p.expiredAt(clock.instant())) {
            throw new TokenExpiredException();
        }
        if (revocations.revoked(p)) {
            throw new TokenRevokedException();
        }
        return p;
    }
}
