package dev.tandem.hub;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A publication's frame as every subscriber gets it, encoded once per publication: the JSON
 * text and its UTF-8 bytes. One instance is shared by all subscribers of a node, so a fan-out
 * to N connections encodes once instead of N times.
 *
 * <p>Immutable: {@link #utf8()} hands out the shared array itself, which nobody may modify.
 */
public final class Encoded {
    private final String text;
    private final byte[] utf8;
    private final String op;

    /** Encodes {@code text}, a frame whose {@code op} is {@code op}, to UTF-8 once. */
    public Encoded(String text, String op) {
        this.text = Objects.requireNonNull(text, "text");
        this.op = Objects.requireNonNull(op, "op");
        this.utf8 = text.getBytes(StandardCharsets.UTF_8);
    }

    /** The frame's {@code op}. */
    public String op() {
        return op;
    }

    /** The frame's JSON text. */
    public String text() {
        return text;
    }

    /** The frame's UTF-8 bytes: shared, read only. */
    public byte[] utf8() {
        return utf8;
    }

    @Override
    public String toString() {
        return text;
    }
}
