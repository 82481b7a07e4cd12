package dev.tandem.session;

import java.io.IOException;

/**
 * One client connection as the engine sees it: a way to write frames and to close. The
 * gateway implements it over a WebSocket.
 *
 * <p>The engine calls {@link #send}, {@link #ping} and {@link #close} from one writer thread
 * per connection only, never concurrently, so implementations need no locking of their own;
 * {@link #abort} may be called from any thread, to unblock a writer stuck on a dead peer.
 */
public interface Transport {
    /** Writes one text frame; blocks until written. */
    void send(String text) throws IOException;

    /** Sends a WebSocket ping. */
    void ping() throws IOException;

    /** Answers a WebSocket ping from the peer with its payload. */
    void pong(byte[] payload) throws IOException;

    /** Sends a close frame with the code and reason (at most 123 bytes) and closes. */
    void close(int code, String reason);

    /** Drops the connection at once without a close handshake. Idempotent. */
    void abort();

    /** The peer's address, for logs and per-address limits. */
    String remoteAddress();
}
