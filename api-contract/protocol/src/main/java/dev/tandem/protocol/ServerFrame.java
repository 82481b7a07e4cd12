package dev.tandem.protocol;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** A frame the server sends to a client. */
public sealed interface ServerFrame extends Frame {

    /**
     * The first frame after successful authentication.
     *
     * @param session     this connection's session id (for support and logs)
     * @param node        the id of the gateway node serving the connection
     * @param user        the authenticated user
     * @param tenant      the tenant every channel name is scoped to
     * @param heartbeatMs how often the server pings; answer pongs (browsers do it by themselves)
     * @param expiresAt   when the token expires; send {@code refresh} before it
     * @param limits      the limits this connection runs under
     */
    record Welcome(String session, String node, String user, String tenant, long heartbeatMs,
                   Optional<Instant> expiresAt, Limits limits) implements ServerFrame {
        /** Validates the fields. */
        public Welcome {
            Objects.requireNonNull(session, "session");
            Objects.requireNonNull(node, "node");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(tenant, "tenant");
            Objects.requireNonNull(expiresAt, "expiresAt");
            Objects.requireNonNull(limits, "limits");
        }

        @Override
        public String op() {
            return "welcome";
        }
    }

    /**
     * The limits a connection runs under, announced in {@link Welcome}.
     *
     * @param maxFrameBytes     largest accepted inbound message
     * @param messagesPerSecond sustained inbound rate
     * @param burst             inbound burst above the sustained rate
     * @param maxSubscriptions  subscriptions per connection
     */
    record Limits(int maxFrameBytes, int messagesPerSecond, int burst, int maxSubscriptions) {
    }

    /**
     * A publication on a channel. Durable publications carry a {@link Position} (epoch and
     * offset); ephemeral ones (typing, cursor) do not. {@code eventId} is there when the
     * publisher gave one; {@code from} names the user when a client published it (absent for
     * backend and service publications). {@code form} says how {@code data} holds the payload.
     */
    record Event(String channel, Optional<Position> position, String type, Optional<String> eventId, Instant time,
                 Optional<String> from, JsonNode data, Form form) implements ServerFrame {
        /** Validates the fields. */
        public Event {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(position, "position");
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(time, "time");
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(form, "form");
            if (form != Form.PAYLOAD && !data.isTextual()) {
                throw new IllegalArgumentException("the data of a " + form + " event is a string");
            }
        }

        /** An event whose {@code data} is the payload itself, with an event id. */
        public Event(String channel, Optional<Position> position, String type, String eventId, Instant time,
                     Optional<String> from, JsonNode data) {
            this(channel, position, type, Optional.of(eventId), time, from, data, Form.PAYLOAD);
        }

        /** The same event with its data in another form. */
        public Event with(Form newForm, JsonNode newData) {
            return new Event(channel, position, type, eventId, time, from, newData, newForm);
        }

        @Override
        public String op() {
            return "event";
        }

        /** How an event's {@code data} holds the payload. */
        public enum Form {
            /** {@code data} is the payload (subscriptions without deltas). */
            PAYLOAD,
            /** {@code data} is a string holding the payload's JSON text ({@code "delta": false}). */
            TEXT,
            /**
             * {@code data} is a string holding a Fossil delta that turns the channel's previous
             * payload text into this one's ({@code "delta": true}).
             */
            FOSSIL
        }
    }

    /**
     * A presence change or snapshot on a channel: {@code kind} is {@code join}, {@code leave}
     * or {@code snapshot}; {@code data} holds the member(s).
     */
    record Presence(String channel, String kind, JsonNode data) implements ServerFrame {
        /** Validates the fields. */
        public Presence {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public String op() {
            return "presence";
        }
    }

    /**
     * A document conflict that waits for the author's {@code conflict.resolve}; {@code data}
     * holds the record. It is a durable publication on the author's {@code user:} channel (kept
     * in the inbox until acknowledged), so it carries that channel and its position: acknowledge
     * it with {@code ack} like an event, and de-duplicate it by offset.
     *
     * @param conflictId the conflict
     * @param channel    the author's inbox channel, {@code user:{author}}
     * @param position   its epoch and offset on that channel
     * @param data       the conflict record
     */
    record Conflict(String conflictId, String channel, Position position, JsonNode data) implements ServerFrame {
        /** Validates the fields. */
        public Conflict {
            Objects.requireNonNull(conflictId, "conflictId");
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(position, "position");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public String op() {
            return "conflict";
        }
    }

    /**
     * The successful answer to the client frame with the same {@code id}. The fields of
     * {@code body} (an object, possibly empty) travel at the top level of the frame, next to
     * {@code op} and {@code id}.
     */
    record Reply(long id, ObjectNode body) implements ServerFrame {
        /** Validates the fields. */
        public Reply {
            Objects.requireNonNull(body, "body");
        }

        @Override
        public String op() {
            return "reply";
        }
    }

    /** A refused request; {@code id} is the request's id, or 0 when it could not be read. */
    record Error(long id, ErrorCode code, String message) implements ServerFrame {
        /** Validates the fields. */
        public Error {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }

        /** The error frame for an exception. */
        public static Error of(ProtocolException e) {
            return new Error(e.requestId(), e.code(), String.valueOf(e.getMessage()));
        }

        @Override
        public String op() {
            return "error";
        }
    }

    /** Sent just before the server closes the socket with the same {@code code}. */
    record Disconnect(int code, String reason, boolean reconnect) implements ServerFrame {
        /** Validates the fields. */
        public Disconnect {
            Objects.requireNonNull(reason, "reason");
        }

        /** The disconnect frame for a close code, with its default or a given reason. */
        public static Disconnect of(CloseCode code, String reason) {
            return new Disconnect(code.code(), reason, code.reconnect());
        }

        @Override
        public String op() {
            return "disconnect";
        }
    }
}
