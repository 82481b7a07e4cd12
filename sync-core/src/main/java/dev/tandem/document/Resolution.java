package dev.tandem.document;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The answer to a manual conflict.
 *
 * @param kind which side wins
 * @param data the merged data, present exactly for {@link Kind#MERGE}
 */
public record Resolution(Kind kind, Optional<ObjectNode> data) {
    /** Validates the fields. */
    public Resolution {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(data, "data");
        if ((kind == Kind.MERGE) != data.isPresent()) {
            throw new IllegalArgumentException("data is required for merge and only for merge");
        }
    }

    /** How a conflict is resolved. */
    public enum Kind {
        /** The author's change wins on the conflicted fields. */
        ACCEPT_LOCAL("accept_local"),
        /** The stored values win on the conflicted fields; the author's other changes still apply. */
        ACCEPT_SERVER("accept_server"),
        /** The given data becomes the document. */
        MERGE("merge");

        private final String wire;

        Kind(String wire) {
            this.wire = wire;
        }

        /** The wire name, e.g. {@code accept_local}. */
        public String wire() {
            return wire;
        }

        /** The kind with this wire name. */
        public static Optional<Kind> fromWire(String wire) {
            return Arrays.stream(values()).filter(k -> k.wire.equals(wire)).findFirst();
        }
    }

    /** Accepts the author's side. */
    public static Resolution acceptLocal() {
        return new Resolution(Kind.ACCEPT_LOCAL, Optional.empty());
    }

    /** Accepts the stored side. */
    public static Resolution acceptServer() {
        return new Resolution(Kind.ACCEPT_SERVER, Optional.empty());
    }

    /** Sets the document to {@code data}. */
    public static Resolution merge(ObjectNode data) {
        return new Resolution(Kind.MERGE, Optional.of(data));
    }

    /**
     * Reads the fields of a {@code conflict.resolve} frame.
     *
     * @throws ProtocolException {@code BAD_REQUEST} for an unknown resolution, or data missing
     *         for (or given without) {@code merge}, or data that is not an object
     */
    public static Resolution parse(String resolution, Optional<JsonNode> data) {
        Kind kind = Kind.fromWire(resolution).orElseThrow(() -> new ProtocolException(ErrorCode.BAD_REQUEST,
                "resolution must be accept_local, accept_server or merge"));
        if (kind == Kind.MERGE) {
            if (data.isEmpty() || !(data.get() instanceof ObjectNode o)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "merge needs 'data' (an object)");
            }
            return merge(o.deepCopy());
        }
        if (data.isPresent()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, resolution + " takes no 'data'");
        }
        return new Resolution(kind, Optional.empty());
    }
}
