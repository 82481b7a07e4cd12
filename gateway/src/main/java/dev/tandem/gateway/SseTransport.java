package dev.tandem.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.session.Frame;
import dev.tandem.session.Transport;

/**
 * A Server-Sent Events response as a session's {@link Transport}: each frame is an event named
 * after its {@code op} with the frame's JSON as its one {@code data:} line (JSON has no raw line
 * breaks); every frame that moves a channel's position (a durable event, a {@code subscribed}
 * answer) carries an {@code id:} with the positions of all the stream's channels, which an
 * {@code EventSource} sends back as {@code Last-Event-ID}; a comment line is its keep-alive; the
 * close ends the response. The session's writer calls it, one call at a time, and the request's
 * own thread waits in {@link #awaitEnd} until the session has ended.
 */
final class SseTransport implements Transport {
    private static final System.Logger LOG = System.getLogger(SseTransport.class.getName());
    private static final byte[] KEEP_ALIVE = ":\n\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final String address;
    private final FrameCodec codec;
    /** The last position of each channel: the writer's only (one call at a time). */
    private final Map<String, Position> positions = new LinkedHashMap<>();
    private final CompletableFuture<Void> ended = new CompletableFuture<>();
    private volatile boolean closed;

    SseTransport(OutputStream out, String address, FrameCodec codec) {
        this.out = out;
        this.address = address;
        this.codec = codec;
    }

    @Override
    public void send(List<Frame> frames) throws IOException {
        ByteArrayOutputStream events = new ByteArrayOutputStream(256 * frames.size());
        for (Frame f : frames) {
            Optional<Position> position = f.position();
            if (position.isPresent()) {
                positions.put(f.channel().orElseThrow(), position.get());
                events.writeBytes(("id: " + eventId() + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            events.writeBytes(("event: " + f.op() + "\ndata: ").getBytes(StandardCharsets.US_ASCII));
            events.writeBytes(f.utf8());
            events.write('\n');
            events.write('\n');
        }
        write(events.toByteArray());
    }

    /** The positions of all the stream's channels: base64url of {@code {"channel": ["epoch", offset], …}}. */
    private String eventId() {
        ObjectNode ids = codec.object();
        positions.forEach((channel, p) -> {
            ArrayNode a = ids.putArray(channel);
            a.add(p.epoch());
            a.add(p.offset());
        });
        return Base64.getUrlEncoder().withoutPadding().encodeToString(codec.write(ids).getBytes(StandardCharsets.UTF_8));
    }

    /** A comment line: keeps proxies from closing an idle stream, and finds out that the client went away. */
    @Override
    public void ping() throws IOException {
        write(KEEP_ALIVE);
    }

    private void write(byte[] bytes) throws IOException {
        try {
            out.write(bytes);
            out.flush();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    @Override
    public void pong(byte[] payload) {
        // an event stream carries nothing from the client: no pings to answer
    }

    /** Ends the response (the {@code disconnect} event was the last one written). */
    @Override
    public void close(int code, String reason) {
        closed = true;
        try {
            out.close();
        } catch (IOException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "stream from " + address + " not closed cleanly: " + e);
        }
        ended();
    }

    @Override
    public String remoteAddress() {
        return address;
    }

    /** The client cannot answer pings: a stream that went away is found when a write fails. */
    @Override
    public boolean answersPings() {
        return false;
    }

    /** The stream names its channels: each gets a {@code subscribed} event with its position. */
    @Override
    public boolean announcesSubscriptions() {
        return true;
    }

    /** The session has ended (its end hook): the request's thread may return. */
    void ended() {
        ended.complete(null);
    }

    /**
     * Waits until the session has ended, then ends the response if the close did not (the client
     * went away, a write failed).
     */
    void awaitEnd() throws InterruptedException {
        try {
            ended.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        if (!closed) {
            close(0, "");
        }
    }
}
