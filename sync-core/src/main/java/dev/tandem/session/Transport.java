package dev.tandem.session;

import java.io.IOException;
import java.util.List;

/**
 * How one client connection carries frames, as its {@link Session} sees it: a WebSocket, a
 * Server-Sent Events stream, any later transport. A transport writes what the session's writer
 * hands it and closes; everything else (authentication, limits, timers, hooks, operations) is the
 * session's, the same for every transport. What comes in is fed to the session by the transport's
 * endpoint ({@link Session#receive}, {@link Engine#request}).
 *
 * <p>The engine calls the methods of one connection from one writer at a time (a virtual thread
 * that runs while there is something to write; the next one starts after it), never
 * concurrently and with each call seeing what the previous ones did, so implementations need no
 * locking of their own. To unblock a writer stuck on a dead peer, the engine interrupts that
 * thread, which closes a socket blocked in a write; implementations should let that
 * interruption surface as an exception.
 */
public interface Transport {
    /**
     * Writes frames in order; blocks until written. The writer hands over whatever a connection
     * has queued at once, so a transport that can should put them on the wire in one write. The
     * list is the writer's: read it during the call, do not keep it.
     */
    void send(List<Frame> frames) throws IOException;

    /**
     * Keeps the connection alive: a WebSocket ping (the peer answers with a pong), or whatever
     * keeps an idle connection open through proxies (a comment line on an event stream).
     */
    void ping() throws IOException;

    /** Answers a WebSocket ping from the peer with its payload (never called on a transport without inbound pings). */
    void pong(byte[] payload) throws IOException;

    /** Ends the connection with the close code and reason (at most 123 bytes). */
    void close(int code, String reason);

    /** The peer's address, for logs and the per-address limit. */
    String remoteAddress();

    /**
     * Whether the peer answers {@link #ping()} (a WebSocket's pong): then a peer silent for longer
     * than the heartbeat allows is closed as gone. A transport whose peer cannot answer (an event
     * stream) notices a gone peer when a write fails.
     */
    default boolean answersPings() {
        return true;
    }

    /**
     * Whether the client is told of each subscription the server makes for it (the channels an
     * event stream names in its URL, the connect hook's channels) with a {@code subscribed} frame;
     * otherwise it learns of them by their events (a WebSocket: tandem.v1 has no such frame). A
     * refused one is an {@code error} frame naming the channel on every transport.
     */
    default boolean announcesSubscriptions() {
        return false;
    }
}
