package dev.tandem.client;

import java.util.EnumSet;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;

/**
 * Why a {@link TandemClient} operation failed: an {@code error} frame from the server (with
 * its {@link ErrorCode}), a closed or lost connection (with the WebSocket close code when
 * there was one), or a timeout ({@link ErrorCode#UNAVAILABLE}). Futures returned by the
 * client complete exceptionally with this type.
 */
public final class TandemClientException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final Set<CloseCode> AUTH_CLOSES =
            EnumSet.of(CloseCode.UNAUTHORIZED, CloseCode.AUTH_TIMEOUT, CloseCode.TOKEN_EXPIRED);

    private final ErrorCode code;
    private final int closeCode;
    private final boolean tokenUnavailable;

    /** A failure with a protocol error code and a message. */
    public TandemClientException(ErrorCode code, String message) {
        super(message);
        this.code = code;
        this.closeCode = -1;
        this.tokenUnavailable = false;
    }

    private TandemClientException(String message, Throwable cause) {
        super(message, cause);
        this.code = ErrorCode.UNAVAILABLE;
        this.closeCode = -1;
        this.tokenUnavailable = true;
    }

    /** The token supplier threw or returned null: no socket was opened ({@link #tokenUnavailable()}). */
    static TandemClientException tokenUnavailable(RuntimeException cause) {
        return new TandemClientException("the token supplier failed: " + cause.getMessage(), cause);
    }

    /** A failure because the socket closed with {@code closeCode}; auth close codes map to {@code unauthorized}. */
    TandemClientException(int closeCode, String reason) {
        super("connection closed with " + closeCode + (reason.isEmpty() ? "" : ": " + reason));
        this.code = CloseCode.of(closeCode).filter(AUTH_CLOSES::contains).map(c -> ErrorCode.UNAUTHORIZED).orElse(null);
        this.closeCode = closeCode;
        this.tokenUnavailable = false;
    }

    /**
     * Whether the token supplier failed (threw or returned null), so no connection was attempted:
     * the client's {@code token_unavailable}, with code {@link ErrorCode#UNAVAILABLE} (a later
     * attempt may succeed) and the supplier's exception as the cause.
     */
    public boolean tokenUnavailable() {
        return tokenUnavailable;
    }

    /** The protocol error code, when the failure has one. */
    public Optional<ErrorCode> code() {
        return Optional.ofNullable(code);
    }

    /** The WebSocket close code, when the failure is a closed connection. */
    public OptionalInt closeCode() {
        return closeCode < 0 ? OptionalInt.empty() : OptionalInt.of(closeCode);
    }
}
