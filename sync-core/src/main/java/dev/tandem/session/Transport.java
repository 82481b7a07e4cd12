package dev.tandem.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One client connection as the engine sees it: a way to write frames and to close. The
 * gateway implements it over a WebSocket.
 *
 * <p>The engine calls the methods of one connection from one writer at a time (a virtual thread
 * that runs while there is something to write; the next one starts after it), never
 * concurrently and with each call seeing what the previous ones did, so implementations need no
 * locking of their own. To unblock a writer stuck on a dead peer, the engine interrupts that
 * thread, which closes a socket blocked in a write; implementations should let that
 * interruption surface as an exception.
 */
public interface Transport {
    /** Writes one text frame; blocks until written. */
    void send(String text) throws IOException;

    /**
     * Writes text frames, given as UTF-8 JSON, in order; blocks until written. The engine hands
     * over whatever a connection has queued at once, so a transport that can should put them on
     * the wire in one write. The arrays may be shared with other connections: read only.
     */
    default void sendAll(List<byte[]> utf8Frames) throws IOException {
        for (byte[] frame : utf8Frames) {
            send(new String(frame, StandardCharsets.UTF_8));
        }
    }

    /** Sends a WebSocket ping. */
    void ping() throws IOException;

    /** Answers a WebSocket ping from the peer with its payload. */
    void pong(byte[] payload) throws IOException;

    /** Sends a close frame with the code and reason (at most 123 bytes) and closes. */
    void close(int code, String reason);

    /** The peer's address, for logs and per-address limits. */
    String remoteAddress();
}
