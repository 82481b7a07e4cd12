package dev.tandem.protocol;

/**
 * A request that cannot be served, with the stable {@link ErrorCode} the peer will see.
 *
 * <p>Thrown by the codec for malformed input and by the engine for refused requests. The
 * {@link #requestId()} is the {@code id} of the frame that caused it when it could be read
 * (0 otherwise), so that the error reply can be correlated. Messages must never contain
 * secrets such as tokens.
 */
public class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final long requestId;

    /** An error not tied to a request id. */
    public ProtocolException(ErrorCode code, String message) {
        this(code, 0, message);
    }

    /** An error answering the frame with the given {@code id}. */
    public ProtocolException(ErrorCode code, long requestId, String message) {
        super(message, null, false, false);
        this.code = code;
        this.requestId = requestId;
    }

    /** The stable error code. */
    public ErrorCode code() {
        return code;
    }

    /** The {@code id} of the frame this answers, or 0. */
    public long requestId() {
        return requestId;
    }

    /** The same error, answering the frame with the given id. */
    public ProtocolException withRequestId(long id) {
        return id == requestId ? this : new ProtocolException(code, id, getMessage());
    }
}
