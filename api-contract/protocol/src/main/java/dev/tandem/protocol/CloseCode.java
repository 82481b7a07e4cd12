package dev.tandem.protocol;

import java.util.Arrays;
import java.util.Optional;

/**
 * The WebSocket close codes Tandem uses, with the reconnect advice that goes with each.
 *
 * <p>Before closing with a code of its own (4000-4999) the server sends a {@code disconnect}
 * frame carrying the same code, a reason and the {@link #reconnect()} hint, because some
 * clients (browsers among them) do not surface close reasons reliably. A client that sees
 * {@code reconnect: false} must not retry with the same credentials.
 */
public enum CloseCode {
    /** Normal closure, asked for by either side. */
    NORMAL(1000, false, "normal closure"),
    /** The endpoint is going away (server stopping without drain). */
    GOING_AWAY(1001, true, "going away"),
    /** The client sent something the protocol does not allow at this point. */
    PROTOCOL_ERROR(1002, false, "protocol error"),
    /** A frame (or aggregated message) is larger than the configured maximum. */
    TOO_LARGE(1009, false, "message too large"),
    /** The server failed unexpectedly; try again. */
    INTERNAL(1011, true, "internal error"),
    /** The node is draining for a restart or scale-in: reconnect, preferably to another node. */
    SERVICE_RESTART(1012, true, "service restart"),
    /** The token is missing, malformed, badly signed or not accepted. Do not retry as is. */
    UNAUTHORIZED(4001, false, "unauthorized"),
    /** No {@code connect} frame arrived within the configured time. */
    AUTH_TIMEOUT(4002, true, "authentication timeout"),
    /** The token expired before a {@code refresh}; reconnect with a fresh token. */
    TOKEN_EXPIRED(4003, true, "token expired"),
    /** The token was revoked (by {@code jti}, or every token of the user issued before a time); reconnect with a fresh token. */
    TOKEN_REVOKED(4004, true, "token revoked"),
    /** The application disconnected the user through the service API; do not reconnect on your own. */
    DISCONNECTED(4005, false, "disconnected by the application"),
    /** The connection kept sending after being told {@code rate_limited}. */
    FLOOD(4008, true, "flood"),
    /** The client did not read fast enough and its outbound queue overflowed. */
    SLOW_CONSUMER(4009, true, "slow consumer"),
    /** The client did not answer the server's pings in time. */
    HEARTBEAT_TIMEOUT(4010, true, "heartbeat timeout"),
    /** The connection subscribed to nothing within the idle timeout; connect again when there is something to follow. */
    IDLE(4011, false, "idle connection"),
    /** Too many connections from the client's address; retry later. */
    CONNECTION_LIMIT(4029, true, "too many connections"),
    /** The node is at its connection limit; reconnect, preferably to another node. */
    NODE_FULL(4030, true, "node full"),
    /** The tenant is at its connection limit (per node); retry later with backoff. */
    TENANT_LIMIT(4031, true, "tenant connection limit");

    private final int code;
    private final boolean reconnect;
    private final String reason;

    CloseCode(int code, boolean reconnect, String reason) {
        this.code = code;
        this.reconnect = reconnect;
        this.reason = reason;
    }

    /** The numeric WebSocket close code. */
    public int code() {
        return code;
    }

    /** Whether the client should reconnect (with backoff). */
    public boolean reconnect() {
        return reconnect;
    }

    /** A short default reason (always well below the 123-byte close-reason limit). */
    public String reason() {
        return reason;
    }

    /** The close code with this number, if it is one of ours. */
    public static Optional<CloseCode> of(int code) {
        return Arrays.stream(values()).filter(c -> c.code == code).findFirst();
    }
}
