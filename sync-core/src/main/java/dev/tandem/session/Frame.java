package dev.tandem.session;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.hub.Publication;
import dev.tandem.operations.Result;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;

/**
 * A server frame on its way to a client, as a connection's writer hands it to the
 * {@link Transport}: the frame's JSON in UTF-8, its {@code op}, and, when the frame moves a
 * channel's position (a durable publication, or the answer to a subscription the server made
 * for the client), that channel and its position. A WebSocket writes the bytes; an event stream
 * also names the event after the op and keeps the positions for its event ids.
 *
 * <p>The bytes may be shared with other connections (a publication is encoded once for all its
 * subscribers): read only.
 */
public final class Frame {
    private final byte[] utf8;
    private final String op;
    /**
     * What the frame moves, if anything: the {@link Publication} it carries, or the {@link Moved}
     * channel of a server-made subscription's answer; null for other frames. One field, not
     * three: a frame is queued per subscriber and delivery.
     */
    private final Object moves;

    /** A channel moved to a position by a frame that carries no publication. */
    private record Moved(String channel, Position position) {
    }

    private Frame(byte[] utf8, String op, Object moves) {
        this.utf8 = utf8;
        this.op = op;
        this.moves = moves;
    }

    /** A frame made for one connection (a reply, an error, a notice, the welcome). */
    static Frame of(byte[] utf8, String op) {
        return new Frame(utf8, op, null);
    }

    /**
     * The answer to a subscription the server made for the client, on a transport that announces
     * them: the subscribe reply's fields as a {@code subscribed} frame, moving the channel to its
     * position.
     */
    static Frame subscribed(FrameCodec codec, String channel, ObjectNode reply) {
        ObjectNode frame = codec.object().put("op", "subscribed");
        frame.setAll(reply);
        return new Frame(codec.write(frame).getBytes(StandardCharsets.UTF_8), "subscribed", new Moved(channel,
                new Position(reply.path("epoch").asText(), reply.path("offset").asLong())));
    }

    /** The refusal of a subscription the server made for the client: an {@code error} naming the channel. */
    static Frame refused(FrameCodec codec, String channel, Result.Failed refusal) {
        return of(codec.write(codec.object().put("op", "error").put("code", refusal.code().wire())
                .put("message", refusal.message()).put("channel", channel)).getBytes(StandardCharsets.UTF_8), "error");
    }

    /** A publication's frame, {@code op} its {@link Publication#frameOp()}. */
    static Frame of(Publication publication, byte[] utf8, String op) {
        return new Frame(utf8, op, publication);
    }

    /** The frame's JSON in UTF-8: shared, read only. */
    public byte[] utf8() {
        return utf8;
    }

    /** The frame's {@code op} ({@code event}, {@code presence}, {@code reply}, …). */
    public String op() {
        return op;
    }

    /** The channel whose position this frame moves, if it moves one. */
    public Optional<String> channel() {
        return switch (moves) {
            case Publication p -> p.position().isPresent() ? Optional.of(p.channel().name().toString()) : Optional.empty();
            case Moved m -> Optional.of(m.channel());
            case null, default -> Optional.empty();
        };
    }

    /** The position the frame moves its channel to, if it moves one (a durable publication's). */
    public Optional<Position> position() {
        return switch (moves) {
            case Publication p -> p.position();
            case Moved m -> Optional.of(m.position());
            case null, default -> Optional.empty();
        };
    }

    /** {@link System#nanoTime} when the publication this frame carries was accepted on this node, else 0. */
    long acceptedNanos() {
        return moves instanceof Publication p ? p.acceptedNanos() : 0;
    }

    /** Whether the frame delivers a publication accepted on this node (for the delivery latency). */
    boolean delivery() {
        return acceptedNanos() != 0;
    }
}
