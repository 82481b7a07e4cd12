package dev.tandem.protocol;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A frame a client sends to the server. Every frame may carry an {@code id} (a positive
 * integer chosen by the client); a frame with an id gets exactly one {@code reply} or
 * {@code error} carrying the same id. {@link #id()} is 0 when the frame had none.
 *
 * <p>Channel names are written without a tenant ({@code location:wh-7}); the server scopes
 * them to the caller's tenant.
 */
public sealed interface ClientFrame extends Frame {

    /** The request id, or 0 when the client wants no reply on success. */
    long id();

    /** Authenticates a connection whose upgrade request carried no token. */
    record Connect(long id, String token) implements ClientFrame {
        /** Validates the fields. */
        public Connect {
            Objects.requireNonNull(token, "token");
        }

        @Override
        public String op() {
            return "connect";
        }

        @Override
        public String toString() {
            return "Connect[id=" + id + ", token=<redacted>]";
        }
    }

    /** Replaces the connection's token before it expires; the user and tenant must not change. */
    record Refresh(long id, String token) implements ClientFrame {
        /** Validates the fields. */
        public Refresh {
            Objects.requireNonNull(token, "token");
        }

        @Override
        public String op() {
            return "refresh";
        }

        @Override
        public String toString() {
            return "Refresh[id=" + id + ", token=<redacted>]";
        }
    }

    /**
     * Subscribes to a channel; with {@code since}, first replays what was published after
     * that position. With {@code presence}, the reply carries a presence snapshot (the
     * namespace must have presence). With {@code snapshot} (only on {@code doc:{type}:{id}}
     * channels), the reply carries the document as {@code doc.get} returns it, or {@code null};
     * it is read after the subscription went live, so no change after it is missed. With
     * {@code delta} ({@value #FOSSIL}, where the namespace allows it), event payloads travel as
     * text, each after the first as a Fossil delta against the one before.
     */
    record Subscribe(long id, String channel, Optional<Position> since, boolean presence, boolean snapshot,
                     Optional<String> delta) implements ClientFrame {
        /** The delta format a subscription may ask for ({@code delta: "fossil"}). */
        public static final String FOSSIL = "fossil";

        /** Validates the fields. */
        public Subscribe {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(since, "since");
            Objects.requireNonNull(delta, "delta");
        }

        /** A subscription without deltas. */
        public Subscribe(long id, String channel, Optional<Position> since, boolean presence, boolean snapshot) {
            this(id, channel, since, presence, snapshot, Optional.empty());
        }

        /** A subscription without a document snapshot or deltas. */
        public Subscribe(long id, String channel, Optional<Position> since, boolean presence) {
            this(id, channel, since, presence, false);
        }

        @Override
        public String op() {
            return "subscribe";
        }
    }

    /** Stops receiving a channel's events. */
    record Unsubscribe(long id, String channel) implements ClientFrame {
        /** Validates the fields. */
        public Unsubscribe {
            Objects.requireNonNull(channel, "channel");
        }

        @Override
        public String op() {
            return "unsubscribe";
        }
    }

    /**
     * Publishes to a channel whose namespace allows client publications. Ephemeral
     * publications (typing, cursor) get no offset and are not kept in history.
     */
    record Publish(long id, String channel, String type, JsonNode data, boolean ephemeral) implements ClientFrame {
        /** Validates the fields. */
        public Publish {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public String op() {
            return "publish";
        }
    }

    /**
     * Sets the caller's presence state on a channel when {@code state} (a JSON object) is
     * present, else queries the channel's members.
     */
    record Presence(long id, String channel, Optional<JsonNode> state) implements ClientFrame {
        /** Validates the fields. */
        public Presence {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(state, "state");
            if (state.isPresent() && !state.get().isObject()) {
                throw new IllegalArgumentException("presence state must be a JSON object");
            }
        }

        @Override
        public String op() {
            return "presence";
        }
    }

    /** Reads a document. */
    record DocGet(long id, String docType, String docId) implements ClientFrame {
        /** Validates the fields. */
        public DocGet {
            Objects.requireNonNull(docType, "docType");
            Objects.requireNonNull(docId, "docId");
        }

        @Override
        public String op() {
            return "doc.get";
        }
    }

    /**
     * Reads a document's history, newest version first: each version as kept and the audit
     * entries about it (merges, resolutions, rejections, conflicts), one page of at most
     * {@code limit} versions after the opaque cursor of the previous page. On the wire:
     * {@code {"op":"doc.history","docType":…,"docId":…,"limit":…,"cursor":…}}.
     *
     * @param id      the request id
     * @param docType the document type
     * @param docId   the document id
     * @param limit   versions per page, 1 to {@value #MAX_LIMIT} ({@value #DEFAULT_LIMIT} when not given)
     * @param cursor  the {@code next} cursor of the previous page
     */
    record DocHistory(long id, String docType, String docId, int limit, Optional<String> cursor) implements ClientFrame {
        /** The page size when none is given. */
        public static final int DEFAULT_LIMIT = 20;
        /** The largest page. */
        public static final int MAX_LIMIT = 100;

        /** Validates the fields. */
        public DocHistory {
            Objects.requireNonNull(docType, "docType");
            Objects.requireNonNull(docId, "docId");
            Objects.requireNonNull(cursor, "cursor");
        }

        @Override
        public String op() {
            return "doc.history";
        }
    }

    /**
     * Lists the documents of a type whose top-level field {@code field} equals {@code value}
     * (a string, number or boolean), ordered by id, one page of at most {@code limit}
     * ({@value #MAX_LIMIT} at most) after the opaque cursor {@code after} of the previous page.
     * On the wire: {@code {"op":"doc.query","docType":…,"where":{FIELD:VALUE},"limit":…,"after":…}}.
     *
     * @param id      the request id
     * @param docType the document type
     * @param field   the field of {@code data} to match
     * @param value   the value it must equal
     * @param limit   the page size, 1 to {@value #MAX_LIMIT} ({@value #DEFAULT_LIMIT} when not given)
     * @param after   the {@code next} cursor of the previous page
     */
    record DocQuery(long id, String docType, String field, JsonNode value, int limit, Optional<String> after)
            implements ClientFrame {
        /** The page size when none is given. */
        public static final int DEFAULT_LIMIT = 100;
        /** The largest page. */
        public static final int MAX_LIMIT = 500;

        /** Validates the fields. */
        public DocQuery {
            Objects.requireNonNull(docType, "docType");
            Objects.requireNonNull(field, "field");
            Objects.requireNonNull(value, "value");
            Objects.requireNonNull(after, "after");
            if (!value.isTextual() && !value.isNumber() && !value.isBoolean()) {
                throw new IllegalArgumentException("a doc.query value is a string, number or boolean");
            }
        }

        @Override
        public String op() {
            return "doc.query";
        }
    }

    /**
     * Changes a document based on {@code baseVersion}; carries either whole {@code data} or a
     * {@code patch}. {@code opId} makes the operation idempotent. {@code afterOpId} names the
     * same client's previous queued edit of the document, the one this edit follows.
     */
    record DocUpdate(long id, String docType, String docId, long baseVersion, String opId,
                     Optional<JsonNode> data, Optional<JsonNode> patch, Optional<String> afterOpId)
            implements ClientFrame {
        /** Validates the fields. */
        public DocUpdate {
            Objects.requireNonNull(docType, "docType");
            Objects.requireNonNull(docId, "docId");
            Objects.requireNonNull(opId, "opId");
            Objects.requireNonNull(data, "data");
            Objects.requireNonNull(patch, "patch");
            Objects.requireNonNull(afterOpId, "afterOpId");
        }

        /** An update that follows no other queued edit. */
        public DocUpdate(long id, String docType, String docId, long baseVersion, String opId,
                         Optional<JsonNode> data, Optional<JsonNode> patch) {
            this(id, docType, docId, baseVersion, opId, data, patch, Optional.empty());
        }

        @Override
        public String op() {
            return "doc.update";
        }
    }

    /** A batch of operations queued while offline, applied in order, one result per op. */
    record Sync(long id, List<DocUpdate> ops) implements ClientFrame {
        /** Validates the fields. */
        public Sync {
            ops = List.copyOf(ops);
        }

        @Override
        public String op() {
            return "sync";
        }
    }

    /** Resolves a manual conflict: {@code accept_local}, {@code accept_server} or {@code merge} (with data). */
    record ConflictResolve(long id, String conflictId, String resolution, Optional<JsonNode> data) implements ClientFrame {
        /** Validates the fields. */
        public ConflictResolve {
            Objects.requireNonNull(conflictId, "conflictId");
            Objects.requireNonNull(resolution, "resolution");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public String op() {
            return "conflict.resolve";
        }
    }

    /**
     * Acknowledges inbox messages up to and including {@code offset} on a {@code user:} channel.
     * With {@code epoch} (the epoch of the events being acknowledged), an inbox whose epoch has
     * changed refuses the ack instead of applying the offset to other messages.
     */
    record Ack(long id, String channel, long offset, Optional<String> epoch) implements ClientFrame {
        /** Validates the fields. */
        public Ack {
            Objects.requireNonNull(channel, "channel");
            Objects.requireNonNull(epoch, "epoch");
        }

        /** An ack without an epoch. */
        public Ack(long id, String channel, long offset) {
            this(id, channel, offset, Optional.empty());
        }

        @Override
        public String op() {
            return "ack";
        }
    }

    /** An application-level ping; answered with a reply when it has an id. */
    record Ping(long id) implements ClientFrame {
        @Override
        public String op() {
            return "ping";
        }
    }
}
