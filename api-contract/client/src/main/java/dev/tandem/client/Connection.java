package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongFunction;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;

/**
 * Connection: one authenticated {@link Transport} at a time. Connecting, the welcome, requests
 * correlated by id, the dispatch of received frames to the concept they belong to, and what a
 * loss means: a reconnect with backoff, or the end ({@link TandemClient.State#CLOSED}).
 */
final class Connection {
    private static final System.Logger LOG = TandemClient.LOG;

    /** A request waiting for its reply; {@code onReply} runs on the receive thread before the future completes. */
    private record Pending(Transport transport, CompletableFuture<ServerFrame.Reply> future,
                           Consumer<ServerFrame.Reply> onReply) {
    }

    private final TandemClient client;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong(1);

    /** Guards the connection lifecycle: the fields below and state transitions. */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile TandemClient.State state = TandemClient.State.CLOSED;
    private volatile Transport current;
    private volatile ServerFrame.Welcome lastWelcome;
    private CompletableFuture<ServerFrame.Welcome> lastConnect;
    private ScheduledFuture<?> reconnectTask;
    private boolean closed;
    private boolean everConnected;
    private int attempts;

    Connection(TandemClient client) {
        this.client = client;
    }

    /** See {@link TandemClient#connect()}. */
    CompletableFuture<ServerFrame.Welcome> connect() {
        Transport c;
        lock.lock();
        try {
            if (closed) {
                return CompletableFuture.failedFuture(TandemClient.unavailable("the client is closed"));
            }
            if (state != TandemClient.State.CLOSED) {
                return lastConnect;
            }
            everConnected = false;
            attempts = 0;
            setState(TandemClient.State.CONNECTING);
            c = new Transport(client);
            current = c;
            lastConnect = c.welcome;
        } finally {
            lock.unlock();
        }
        c.open();
        return c.welcome;
    }

    TandemClient.State state() {
        return state;
    }

    /** What {@link #close()} took over: the transport that was current, if any (its socket still to be closed). */
    record Closing(Optional<Transport> transport) {
    }

    /** Stops for good; empty if it already was. */
    Optional<Closing> close() {
        Transport c;
        lock.lock();
        try {
            if (closed) {
                return Optional.empty();
            }
            closed = true;
            if (reconnectTask != null) {
                reconnectTask.cancel(false);
            }
            c = current;
            current = null;
            setState(TandemClient.State.CLOSED);
        } finally {
            lock.unlock();
        }
        return Optional.of(new Closing(Optional.ofNullable(c)));
    }

    /** The welcome of the current connection while requests can be sent. */
    Optional<ServerFrame.Welcome> readyWelcome() {
        Transport c = current;
        return c != null && c.ready && !c.ended.get() ? Optional.ofNullable(c.welcomeFrame) : Optional.empty();
    }

    /** The last welcome received, also while disconnected. */
    Optional<ServerFrame.Welcome> lastWelcome() {
        return Optional.ofNullable(lastWelcome);
    }

    /** The welcome of the current transport, ready or not. */
    Optional<ServerFrame.Welcome> currentWelcome() {
        Transport c = current;
        return c == null ? Optional.empty() : Optional.ofNullable(c.welcomeFrame);
    }

    /** See {@link TandemClient#request(LongFunction)}. */
    CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frameWithId, Duration replyTimeout) {
        long id = ids.getAndIncrement();
        ClientFrame frame = frameWithId.apply(id);
        if (frame.id() != id) {
            throw new IllegalArgumentException("the frame must carry id " + id + ", not " + frame.id());
        }
        Consumer<ServerFrame.Reply> onReply = client.subscriptions.requested(frame);
        Transport c = current;
        if (c == null || !c.ready || c.ended.get()) {
            return CompletableFuture.failedFuture(TandemClient.unavailable("not connected"));
        }
        String text = client.codec.encode(frame);
        CompletableFuture<ServerFrame.Reply> future = new CompletableFuture<>();
        Pending p = new Pending(c, future, onReply);
        pending.put(id, p);
        ScheduledFuture<?> timeout = client.timer.schedule(
                () -> future.completeExceptionally(TandemClient.unavailable("no reply within " + replyTimeout)),
                replyTimeout.toMillis(), TimeUnit.MILLISECONDS);
        future.whenComplete((r, e) -> {
            timeout.cancel(false);
            pending.remove(id, p);
        });
        if (c.ended.get()) { // lost while registering: the loss may have missed this request
            future.completeExceptionally(TandemClient.unavailable("connection lost"));
        } else {
            c.send(text);
        }
        return future;
    }

    /**
     * Sends a frame outside the request bookkeeping (its reply is not awaited, and a subscription
     * it ends is not forgotten): false when not connected.
     */
    boolean sendUntracked(LongFunction<ClientFrame> frameWithId) {
        Transport c = current;
        if (c == null || !c.ready || c.ended.get()) {
            return false;
        }
        c.send(client.codec.encode(frameWithId.apply(ids.getAndIncrement())));
        return true;
    }

    /** Fails the requests sent on {@code transport}. */
    void failRequests(Transport transport, TandemClientException why) {
        pending.values().forEach(p -> {
            if (p.transport() == transport) {
                p.future().completeExceptionally(why);
            }
        });
    }

    /** Dispatches one frame from the server (on the receive thread) to the concept it belongs to. */
    void receive(Transport c, String text) {
        ServerFrame frame;
        try {
            frame = client.codec.decodeServer(text);
        } catch (ProtocolException e) {
            LOG.log(Level.WARNING, "ignoring an undecodable frame from the server: {0}", e.getMessage());
            Pending p = e.requestId() > 0 ? pending.remove(e.requestId()) : null;
            if (p != null) {
                p.future().completeExceptionally(new TandemClientException(ErrorCode.BAD_REQUEST,
                        "undecodable reply: " + e.getMessage()));
            }
            return;
        }
        switch (frame) {
            case ServerFrame.Welcome w -> welcomed(c, w);
            case ServerFrame.Event e -> client.subscriptions.event(e);
            case ServerFrame.Presence p -> TandemClient.emit(client.onPresence, p);
            case ServerFrame.Conflict k -> client.inbox.conflict(k);
            case ServerFrame.Reply r -> {
                Pending p = pending.remove(r.id());
                if (p == null) {
                    LOG.log(Level.DEBUG, "reply {0} came after its request gave up", r.id());
                    return;
                }
                try {
                    p.onReply().accept(r);
                } finally {
                    p.future().complete(r);
                }
            }
            case ServerFrame.Error e when e.id() > 0 -> {
                Pending p = pending.remove(e.id());
                if (p == null) {
                    LOG.log(Level.DEBUG, "error {0} came after its request gave up: {1}", e.id(), e.code());
                    return;
                }
                p.future().completeExceptionally(new TandemClientException(e.code(), e.message()));
            }
            case ServerFrame.Error e -> {
                if (!c.ready) {
                    c.welcome.completeExceptionally(new TandemClientException(e.code(), e.message()));
                }
                TandemClient.emit(client.onError, e);
            }
            case ServerFrame.Disconnect d -> {
                c.disconnect = d; // the close that follows is judged by its reconnect hint
                TandemClient.emit(client.onDisconnect, d);
            }
        }
    }

    private void welcomed(Transport c, ServerFrame.Welcome w) {
        lock.lock();
        try {
            if (c != current || c.ended.get()) {
                return;
            }
            c.cancelTimers();
            c.welcomeFrame = w;
            lastWelcome = w;
            c.ready = true;
            everConnected = true;
            attempts = 0;
            c.watch(w.heartbeatMs());
            setState(TandemClient.State.CONNECTED);
        } finally {
            lock.unlock();
        }
        LOG.log(Level.DEBUG, "connected to {0} as {1}, session {2}", w.node(), w.user(), w.session());
        client.subscriptions.resubscribeAll();
        client.inbox.connected(w);
        client.documents().connected();
        c.welcome.complete(w);
    }

    /**
     * Ends a connection, decides whether and when to reconnect, then fails what waited on the
     * connection (so a failed future already sees the new state). Idempotent per connection.
     * The state changes before the transport is marked ended, both under the lock: a request
     * refused because the transport ended never meets a state that still says connected.
     */
    void lost(Transport c, TandemClientException why, boolean retry) {
        lock.lock();
        try {
            if (c.ended.get()) {
                return;
            }
            if (c == current) {
                current = null;
                scheduleReconnect(why, retry);
            }
            if (!c.ended.compareAndSet(false, true)) {
                return; // the client's close ended it meanwhile, and failed what waited
            }
        } finally {
            lock.unlock();
        }
        c.fail(why);
    }

    private void scheduleReconnect(TandemClientException why, boolean retry) { // with the lock held
        Optional<Duration> delay = closed || !retry || !everConnected ? Optional.empty() : client.backoff.delay(++attempts);
        LOG.log(delay.isPresent() ? Level.INFO : Level.WARNING, "connection lost ({0}); {1}", why.getMessage(),
                delay.map(d -> "reconnecting in " + d.toMillis() + " ms").orElse("not reconnecting"));
        if (delay.isEmpty()) {
            setState(TandemClient.State.CLOSED);
            return;
        }
        setState(TandemClient.State.RECONNECTING);
        reconnectTask = client.timer.schedule(this::reconnect, delay.get().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void reconnect() {
        Transport c;
        lock.lock();
        try {
            if (closed || state != TandemClient.State.RECONNECTING || current != null) {
                return;
            }
            c = new Transport(client);
            current = c;
        } finally {
            lock.unlock();
        }
        c.open();
    }

    private void setState(TandemClient.State s) { // with the lock held, so listeners see transitions in order
        if (state != s) {
            state = s;
            TandemClient.emit(client.onStateChange, s);
        }
    }
}
