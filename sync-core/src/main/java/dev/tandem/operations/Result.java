package dev.tandem.operations;

import java.util.Objects;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The answer of every operation, whatever the transport: a body, or an error code with a
 * message. A WebSocket sends {@link Ok} as {@code {"op":"reply","id":N,…body}} and
 * {@link Failed} as {@code {"op":"error","id":N,"code","message"}}; the REST API answers 200 with
 * the body, or the code's HTTP status with {@code {"code","message"}}. The same operation gives
 * the same body on both.
 */
public sealed interface Result {

    /**
     * Done.
     *
     * @param body the answer's fields (an object, possibly empty)
     */
    record Ok(ObjectNode body) implements Result {
        /** Validates the fields. */
        public Ok {
            Objects.requireNonNull(body, "body");
        }
    }

    /**
     * Refused or failed; nothing was changed unless the operation's contract says otherwise.
     *
     * @param code    the stable error code
     * @param message a human-readable message (never a secret, never a stack trace)
     */
    record Failed(ErrorCode code, String message) implements Result {
        /** Validates the fields. */
        public Failed {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }

        /** The failure as an exception answering the request with the given id. */
        public ProtocolException toException(long requestId) {
            return new ProtocolException(code, requestId, message);
        }
    }

    /** An empty success. */
    static Ok ok() {
        return new Ok(JsonNodeFactory.instance.objectNode());
    }

    /** The failure an exception stands for. */
    static Failed failed(ProtocolException e) {
        return new Failed(e.code(), String.valueOf(e.getMessage()));
    }
}
