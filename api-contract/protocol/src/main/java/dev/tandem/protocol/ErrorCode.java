package dev.tandem.protocol;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The stable, machine-readable error codes of {@code tandem.v1}, shared by the WebSocket
 * protocol ({@code error} frames) and the REST API ({@code {"code": ...}} bodies).
 *
 * <p>The wire name ({@link #wire()}) is part of the contract and never changes. A code is
 * {@linkplain #isTransient() transient} when the same request may succeed if retried later
 * without change.
 */
public enum ErrorCode {
    /** The frame or body is malformed: bad JSON, unknown op, a missing or wrongly typed field. */
    BAD_REQUEST("bad_request", 400, false),
    /** No valid credentials: missing, malformed, badly signed or expired token. */
    UNAUTHORIZED("unauthorized", 401, false),
    /** The principal is known but may not do this (another user's channel, no publish right). */
    FORBIDDEN("forbidden", 403, false),
    /** The channel name is malformed or names a namespace that does not exist. */
    UNKNOWN_CHANNEL("unknown_channel", 400, false),
    /** Too many messages; slow down. Repeated floods close the connection. */
    RATE_LIMITED("rate_limited", 429, true),
    /** A frame, payload or state exceeds its configured size. */
    TOO_LARGE("too_large", 413, false),
    /** A concurrent change got there first (documents), or the state does not allow this. */
    CONFLICT("conflict", 409, false),
    /** The thing asked for does not exist. */
    NOT_FOUND("not_found", 404, false),
    /** A limit of the connection is reached (subscriptions per connection, connections per IP). */
    LIMIT_EXCEEDED("limit_exceeded", 429, false),
    /** The feature or a backing service is not available on this node right now. */
    UNAVAILABLE("unavailable", 503, true),
    /** A bug or an unexpected failure on the server; the details are in the server log. */
    INTERNAL("internal", 500, true);

    private static final Map<String, ErrorCode> BY_WIRE = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(ErrorCode::wire, Function.identity()));

    private final String wire;
    private final int httpStatus;
    private final boolean transientError;

    ErrorCode(String wire, int httpStatus, boolean transientError) {
        this.wire = wire;
        this.httpStatus = httpStatus;
        this.transientError = transientError;
    }

    /** The code as it travels on the wire, e.g. {@code "bad_request"}. */
    public String wire() {
        return wire;
    }

    /** The HTTP status the REST API answers with for this code. */
    public int httpStatus() {
        return httpStatus;
    }

    /** Whether retrying the same request later may succeed. */
    public boolean isTransient() {
        return transientError;
    }

    /** The code with this wire name, if any. */
    public static Optional<ErrorCode> fromWire(String wire) {
        return Optional.ofNullable(BY_WIRE.get(wire));
    }
}
