package dev.tandem.hub;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import dev.tandem.protocol.Position;

/**
 * A publication's frame as every subscriber gets it, encoded once per publication: the JSON
 * text and its UTF-8 bytes. One instance is shared by all subscribers of a node, so a fan-out
 * to N connections encodes once instead of N times.
 *
 * <p>On a channel with delta subscribers an event also has its delta encodings, shared the same
 * way ({@link #forDelta}): the frame carrying a Fossil delta against the channel's previous
 * payload (made once per publication), and the frame carrying the whole payload as text, made
 * the first time a delta subscriber needs it (the first event after subscribing).
 *
 * <p>Immutable to its users: {@link #utf8()} hands out the shared array itself, which nobody may
 * modify.
 */
public final class Encoded {
    private final String text;
    private final byte[] utf8;
    private final String op;
    /** The position of the payload the delta applies to; empty when there is no delta frame. */
    private final Optional<Position> deltaBase;
    private final Encoded delta;
    private final Supplier<Encoded> wholeText;
    /** {@link #wholeText}'s frame once made (racy single check: every thread makes the same bytes). */
    private volatile Encoded whole;

    /** Encodes {@code text}, a frame whose {@code op} is {@code op}, to UTF-8 once. */
    public Encoded(String text, String op) {
        this(text, op, Optional.empty(), null, null);
    }

    private Encoded(String text, String op, Optional<Position> deltaBase, Encoded delta, Supplier<Encoded> wholeText) {
        this.text = Objects.requireNonNull(text, "text");
        this.op = Objects.requireNonNull(op, "op");
        this.utf8 = text.getBytes(StandardCharsets.UTF_8);
        this.deltaBase = deltaBase;
        this.delta = delta;
        this.wholeText = wholeText;
    }

    /**
     * An event frame with its delta encodings.
     *
     * @param deltaBase the position of the payload {@code delta} was made against, if one was
     * @param delta     the frame carrying the delta ({@code "delta": true}), if it was made
     * @param wholeText makes the frame carrying the payload as text ({@code "delta": false})
     */
    static Encoded withDeltas(String text, Optional<Position> deltaBase, Optional<Encoded> delta,
                              Supplier<Encoded> wholeText) {
        return new Encoded(text, "event", delta.isPresent() ? deltaBase : Optional.empty(), delta.orElse(null),
                Objects.requireNonNull(wholeText, "wholeText"));
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

    /**
     * The frame for a delta subscriber whose last event had the position {@code last}: the delta
     * when it was made against that very payload, else the whole payload as text. Frames other
     * than events (presence, conflicts) are the same for every subscriber.
     */
    public Encoded forDelta(Optional<Position> last) {
        if (wholeText == null) {
            return this;
        }
        if (delta != null && last.isPresent() && last.equals(deltaBase)) {
            return delta;
        }
        Encoded w = whole;
        if (w == null) {
            w = wholeText.get();
            whole = w;
        }
        return w;
    }

    @Override
    public String toString() {
        return text;
    }
}
