package dev.tandem.auth;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * A token that was valid but has expired ({@code UNAUTHORIZED} on the wire). Unlike a forged or
 * malformed token, the client should fetch a fresh one and come back: a connection refused for
 * it is closed with 4003 ({@code reconnect: true}), not 4001.
 */
public final class TokenExpiredException extends ProtocolException {
    private static final long serialVersionUID = 1L;

    /** The exception with a message saying so. */
    public TokenExpiredException() {
        super(ErrorCode.UNAUTHORIZED, "token expired; fetch a fresh one");
    }

    private TokenExpiredException(long requestId, String message) {
        super(ErrorCode.UNAUTHORIZED, requestId, message);
    }

    @Override
    public ProtocolException withRequestId(long id) {
        return id == requestId() ? this : new TokenExpiredException(id, getMessage());
    }
}
