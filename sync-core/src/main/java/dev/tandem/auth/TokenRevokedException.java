package dev.tandem.auth;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * A token that was revoked ({@code UNAUTHORIZED} on the wire): a connection refused or closed
 * for it is closed with 4004 ({@code reconnect: true}: with a new token, not this one).
 */
public final class TokenRevokedException extends ProtocolException {
    private static final long serialVersionUID = 1L;

    /** The exception with a message saying so. */
    public TokenRevokedException() {
        super(ErrorCode.UNAUTHORIZED, "token revoked; sign in again for a new one");
    }

    private TokenRevokedException(long requestId, String message) {
        super(ErrorCode.UNAUTHORIZED, requestId, message);
    }

    @Override
    public ProtocolException withRequestId(long id) {
        return id == requestId() ? this : new TokenRevokedException(id, getMessage());
    }
}
