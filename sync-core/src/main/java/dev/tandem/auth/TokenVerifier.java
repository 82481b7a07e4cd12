package dev.tandem.auth;

/**
 * Turns a bearer token into a {@link Principal}. Implementations check the signature, the
 * accepted algorithms, expiry and the configured issuer and audience.
 *
 * <p>Implementations are thread-safe and never include the token in exception messages.
 */
@FunctionalInterface
public interface TokenVerifier {
    /**
     * Verifies a token.
     *
     * @param token the compact JWT
     * @return the principal it establishes
     * @throws dev.tandem.protocol.ProtocolException with {@code UNAUTHORIZED} when the token is
     *                                               not acceptable, with a message saying why
     */
    Principal verify(String token);
}
