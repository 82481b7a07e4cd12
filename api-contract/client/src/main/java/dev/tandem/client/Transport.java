package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ServerFrame;

/**
 * Transport: one WebSocket and its per-socket state (opening with the token, ordered sends,
 * the heartbeat probe, received frames handed to the receive thread with backpressure); the
 * {@link Connection} decides what a loss means. Callbacks of an ended transport are ignored.
 */
final class Transport implements WebSocket.Listener {
    private static final System.Logger LOG = TandemClient.LOG;
    private static final int ABNORMAL_CLOSE = 1006;
    private static final int MAX_MESSAGE_CHARS = 16 << 20;
    /** Frames received and not yet handled beyond which the socket is not read (backpressure). */
    private static final int MAX_QUEUED_FRAMES = 256;

    private final TandemClient client;

    final CompletableFuture<ServerFrame.Welcome> welcome = new CompletableFuture<>();
    final AtomicBoolean ended = new AtomicBoolean();
    private final ReentrantLock sendLock = new ReentrantLock();
    private final StringBuilder partial = new StringBuilder(); // receive thread only
    private CompletableFuture<?> lastSend = CompletableFuture.completedFuture(null); // guarded by sendLock
    volatile WebSocket ws;
    volatile String token;
    volatile boolean ready;
    volatile ServerFrame.Welcome welcomeFrame;
    volatile ServerFrame.Disconnect disconnect;
    volatile long lastSeen = System.nanoTime();
    /** Complete frames handed to the receiver and not yet handled. */
    private final AtomicInteger queued = new AtomicInteger();
    /** Set when a frame was not followed by {@code request(1)} because too many wait (backpressure). */
    private final AtomicBoolean demandHeld = new AtomicBoolean();
    /** Whether a liveness ping is in flight. */
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile ScheduledFuture<?> welcomeTimeout;
    private volatile ScheduledFuture<?> watchdog;

    Transport(TandemClient client) {
        this.client = client;
    }

    void open() {
        if (ended.get()) { // closed before it started
            return;
        }
        welcomeTimeout = client.timer.schedule(() -> {
            abort();
            client.connection.lost(this, TandemClient.unavailable("no welcome within " + client.requestTimeout), true);
        }, client.requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try {
            token = Objects.requireNonNull(client.token.get(), "the token supplier returned null");
        } catch (RuntimeException e) {
            // no socket was opened: the first connect() fails with it, a reconnect is retried
            LOG.log(Level.WARNING, "the token supplier failed: {0}", e.getClass().getSimpleName());
            client.connection.lost(this, TandemClientException.tokenUnavailable(e), true);
            return;
        }
        try {
            WebSocket.Builder b = client.http.newWebSocketBuilder()
                    .subprotocols(FrameCodec.SUBPROTOCOL)
                    .connectTimeout(client.requestTimeout);
            client.headers.forEach(h -> b.header(h.getKey(), h.getValue()));
            if (client.tokenInHeader) {
                b.header("Authorization", "Bearer " + token);
            }
            b.buildAsync(client.uri, this).whenComplete((ws, e) -> {
                if (e != null) {
                    upgradeFailed(e instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e);
                } else if (ended.get()) {
                    ws.abort();
                }
            });
        } catch (RuntimeException e) {
            client.connection.lost(this, TandemClient.unavailable("cannot connect: " + e), true);
        }
    }

    private void upgradeFailed(Throwable e) {
        if (e instanceof WebSocketHandshakeException h && h.getResponse().statusCode() / 100 == 4) {
            int status = h.getResponse().statusCode();
            ErrorCode code = status == 401 ? ErrorCode.UNAUTHORIZED
                    : status == 403 ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST;
            client.connection.lost(this, new TandemClientException(code, "upgrade refused with HTTP " + status), false);
        } else {
            client.connection.lost(this, TandemClient.unavailable("cannot connect: " + e), true);
        }
    }

    /** Sends one text message after the previous one completed; a failed send ends the connection. */
    void send(String text) {
        sendLock.lock();
        try {
            lastSend = lastSend.handle((x, e) -> null)
                    .thenCompose(x -> ws.sendText(text, true))
                    .whenComplete((x, e) -> {
                        if (e != null) {
                            abort();
                            client.connection.lost(this, TandemClient.unavailable("send failed: " + e), true);
                        }
                    });
        } finally {
            sendLock.unlock();
        }
    }

    /**
     * Starts checking a quiet connection, as the TypeScript client does: after a heartbeat
     * interval without anything from the server (not even its ping) the client sends a
     * {@code ping}; when nothing at all arrives before the request timeout, the connection
     * is declared lost. A socket can die without a close reaching the client (a network
     * change, a peer or proxy that vanished, or an end of stream the JDK's WebSocket did not
     * report), and this bounds how long it goes unnoticed: one heartbeat plus the request
     * timeout.
     */
    void watch(long heartbeatMs) {
        long every = Math.max(1000, heartbeatMs > 0 ? heartbeatMs : 25_000);
        long quiet = TimeUnit.MILLISECONDS.toNanos(every);
        watchdog = client.timer.scheduleWithFixedDelay(() -> {
            long sent = System.nanoTime();
            if (ended.get() || sent - lastSeen < quiet || !probing.compareAndSet(false, true)) {
                return;
            }
            client.request(ClientFrame.Ping::new).whenComplete((r, e) -> {
                probing.set(false);
                if (e != null && !ended.get() && lastSeen - sent < 0) { // nothing heard since the ping
                    abort();
                    client.connection.lost(this, new TandemClientException(ABNORMAL_CLOSE, "the server stopped answering"), true);
                }
            });
        }, every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * Hands a complete frame (or the end of the connection) to the receiver thread and asks
     * for the next frame at once. Why not handle it here: the JDK's WebSocket reads nothing
     * while the listener runs, and an end of stream (a peer or proxy that closes the TCP
     * connection without a close frame) arriving in that window is dropped by the JDK
     * (JDK 21-25 {@code TransportImpl}: the EOF is acknowledged against a demand of zero,
     * which throws inside the selector thread and stops reading), so the client would stay
     * "connected" to a dead socket. Keeping the listener short keeps that window tiny; the
     * liveness ping ({@link #watch}) covers what remains.
     */
    private void dispatch(WebSocket webSocket, String message) {
        queued.incrementAndGet();
        try {
            client.receiver.execute(() -> {
                try {
                    if (!ended.get()) {
                        client.connection.receive(this, message);
                    }
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "failed to handle a frame from the server", e);
                } finally {
                    queued.decrementAndGet();
                    resumeReading(webSocket);
                }
            });
        } catch (RejectedExecutionException e) {
            queued.decrementAndGet(); // the client is closed
            return;
        }
        if (queued.get() < MAX_QUEUED_FRAMES) {
            webSocket.request(1);
        } else {
            // the application handles frames slower than they come: stop reading (TCP
            // backpressure) until the receiver catches up
            demandHeld.set(true);
            resumeReading(webSocket);
        }
    }

    private void resumeReading(WebSocket webSocket) {
        if (queued.get() < MAX_QUEUED_FRAMES && demandHeld.compareAndSet(true, false)) {
            webSocket.request(1);
        }
    }

    /**
     * Ends the connection after the frames received before the end are handled (a
     * {@code disconnect} frame among them decides the reconnect hint).
     */
    private void dispatchLoss(int closeCode, String reason) {
        Runnable end = () -> {
            ServerFrame.Disconnect d = disconnect;
            String why = reason.isEmpty() && d != null ? d.reason() : reason;
            client.connection.lost(this, new TandemClientException(closeCode, why), reconnectHint(closeCode));
        };
        try {
            client.receiver.execute(end);
        } catch (RejectedExecutionException e) {
            end.run(); // the client is closed: nothing waits for those frames
        }
    }

    /** Fails what waits on this connection, once it has ended. */
    void fail(TandemClientException why) {
        cancelTimers();
        welcome.completeExceptionally(why);
        client.connection.failRequests(this, TandemClient.unavailable("connection lost: " + why.getMessage()));
    }

    void cancelTimers() {
        for (ScheduledFuture<?> f : new ScheduledFuture<?>[] {welcomeTimeout, watchdog}) {
            if (f != null) {
                f.cancel(false);
            }
        }
    }

    void abort() {
        WebSocket w = ws;
        if (w != null) {
            w.abort();
        }
    }

    private boolean reconnectHint(int closeCode) {
        ServerFrame.Disconnect d = disconnect;
        return d != null ? d.reconnect() : CloseCode.of(closeCode).map(CloseCode::reconnect).orElse(true);
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        ws = webSocket;
        if (ended.get()) {
            webSocket.abort();
            return;
        }
        if (!FrameCodec.SUBPROTOCOL.equals(webSocket.getSubprotocol())) {
            LOG.log(Level.WARNING, "the server did not select subprotocol {0}", FrameCodec.SUBPROTOCOL);
        }
        if (!client.tokenInHeader) {
            send(client.codec.encode(new ClientFrame.Connect(0, token)));
        }
        webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        if (ended.get()) {
            return null;
        }
        lastSeen = System.nanoTime();
        if (partial.length() + data.length() > MAX_MESSAGE_CHARS) {
            abort();
            client.connection.lost(this, new TandemClientException(CloseCode.TOO_LARGE.code(), "message from the server too large"),
                    CloseCode.TOO_LARGE.reconnect());
            return null;
        }
        if (!last) {
            partial.append(data);
            webSocket.request(1);
            return null;
        }
        String message = partial.isEmpty() ? data.toString() : partial.append(data).toString();
        partial.setLength(0);
        dispatch(webSocket, message);
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        LOG.log(Level.DEBUG, "ignoring a binary message");
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        lastSeen = System.nanoTime(); // the WebSocket answers with a pong by itself
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
        lastSeen = System.nanoTime();
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        dispatchLoss(statusCode, reason);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        dispatchLoss(ABNORMAL_CLOSE, String.valueOf(error));
    }
}
