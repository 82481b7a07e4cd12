package dev.tandem.protocol;

/**
 * One {@code tandem.v1} frame: a JSON object sent as one WebSocket text message, whose
 * {@code op} field names the kind of frame. {@link ClientFrame}s travel from client to
 * server, {@link ServerFrame}s the other way; {@link FrameCodec} converts both.
 */
public sealed interface Frame permits ClientFrame, ServerFrame {
    /** The {@code op} name on the wire, e.g. {@code "subscribe"}. */
    String op();
}
