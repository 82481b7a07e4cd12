package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;

/**
 * A small {@code tandem.v1} client over {@link java.net.http.WebSocket}: authentication,
 * requests correlated by id, event de-duplication and automatic recovery.
 *
 * <p>Recovery: the client remembers the channels it subscribed to (successful
 * {@code subscribe} replies, forgotten on {@code unsubscribe}) and the last (epoch, offset)
 * seen on each channel. It drops durable events at or below that offset in the same epoch.
 * After an unexpected loss of an established connection it reconnects with the configured
 * {@link Backoff}, asks the token supplier for a token, authenticates again and resubscribes
 * every channel with {@code since} set to its position, so durable events arrive at least
 * once, in order, without duplicates (within the server's history window). A {@code disconnect}
 * or close that forbids reconnecting (e.g. 4001 unauthorized), {@link #close()}, or an
 * exhausted backoff leaves the client {@link State#CLOSED}.
 *
 * <p>Reconnect timing:
 * <ul>
 *   <li>Noticing a loss: a close or reset of the socket at once; a socket that died silently
 *       (network change, vanished peer or proxy) after one heartbeat interval without traffic
 *       (the welcome's {@code heartbeatMs}, 25 s by default, at least 1 s) the client sends a
 *       {@code ping}, and declares the connection lost when nothing arrives within the request
 *       timeout (10 s by default): at most heartbeat + request timeout.</li>
 *   <li>Retrying: attempt {@code n} after a loss waits {@link Backoff#delay(int)}: with
 *       {@link Backoff#defaults()} a random time up to {@code min(10 s, 200 ms * 2^(n-1))}, so
 *       never more than 10 s however long the outage; each failed attempt (refused, reset, no
 *       {@code welcome} within the request timeout) counts one more. A {@code welcome} resets
 *       the count, so the next loss starts again from the initial delay. Once the network is
 *       back, the client is connected again within one capped delay plus one handshake.</li>
 *   <li>Recovering: on the {@code welcome} every remembered channel is resubscribed from its
 *       position; a gap the server cannot replay is reported per channel through
 *       {@link Builder#onRecoveryLost} (and live documents and queries reload).</li>
 * </ul>
 *
 * <p>Documents: {@link #documents()} reads documents, keeps documents and queries current
 * ({@link LiveDocument}, {@link LiveQuery}) and holds the <b>offline operation queue</b>: edits
 * are stored (in a journal file with {@link Builder#queue}) and sent in order as {@code sync}
 * batches whenever the client is connected, each with an observable {@link OpStatus}. With
 * {@link Builder#inbox(boolean)} the client follows the user's own inbox ({@code user:{you}}):
 * the unacknowledged messages the server replays after the subscribe reply are delivered (the
 * reply's {@code inbox} count says they follow) and acknowledged once handled.
 *
 * <p>Threading: all methods are thread-safe and do not block. Listeners for server frames run
 * one at a time, in arrival order, on the client's receive thread ({@code tandem-client-receive},
 * not the WebSocket's own thread, so a busy listener cannot hide a closed socket), and request
 * futures are completed there too: they must not block (in particular must not wait for
 * another reply of this client; use the {@code *Async} variants to hand work off). A listener
 * that throws is logged and otherwise ignored.
 */
public final class TandemClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TandemClient.class.getName());
    private static final int ABNORMAL_CLOSE = 1006;
    private static final int MAX_MESSAGE_CHARS = 16 << 20;
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(2);
    /** Frames received and not yet handled beyond which the socket is not read (backpressure). */
    private static final int MAX_QUEUED_FRAMES = 256;

    /** Where the client stands with its connection. */
    public enum State {
        /** Opening the first connection after {@link #connect()}. */
        CONNECTING,
        /** Authenticated: requests may be sent. */
        CONNECTED,
        /** The connection was lost; waiting for or making a reconnect attempt. */
        RECONNECTING,
        /** Not connected and not trying to: before {@link #connect()}, after a failure that ends it, after {@link #close()}. */
        CLOSED
    }

    private final URI uri;
    private final Supplier<String> token;
    private final boolean tokenInHeader;
    private final Backoff backoff;
    private final Duration requestTimeout;
    private final HttpClient http;
    private final boolean ownsHttp;
    private final List<Map.Entry<String, String>> headers;
    private final Consumer<ServerFrame.Event> onEvent;
    private final Consumer<ServerFrame.Presence> onPresence;
    private final Consumer<ServerFrame.Conflict> onConflict;
    private final Consumer<ServerFrame.Error> onError;
    private final Consumer<ServerFrame.Disconnect> onDisconnect;
    private final java.util.function.BiConsumer<String, Position> onRecoveryLost;
    private final Consumer<State> onStateChange;
    private final boolean inbox;
    private final Documents documents;
    /** Internal listeners per channel (live documents and queries). */
    private final Map<String, List<ChannelListener>> channelListeners = new ConcurrentHashMap<>();
    /** The newest inbox position handled and not yet acknowledged. */
    private final java.util.concurrent.atomic.AtomicReference<Position> ackTarget =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final AtomicBoolean ackScheduled = new AtomicBoolean();

    private final FrameCodec codec = FrameCodec.create();
    private final Positions positions = new Positions();
    /** Subscribed channels, each with its flags, to resubscribe after a reconnect. */
    private final Map<String, Sub> channels = new ConcurrentHashMap<>();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong(1);
    private final ScheduledThreadPoolExecutor timer;
    /** Handles received frames one at a time, in order, off the WebSocket's own thread (see Connection#onText). */
    private final java.util.concurrent.ThreadPoolExecutor receiver;

    /** Guards the connection lifecycle: the fields below and state transitions. */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile State state = State.CLOSED;
    private volatile Connection current;
    private volatile ServerFrame.Welcome lastWelcome;
    private CompletableFuture<ServerFrame.Welcome> lastConnect;
    private ScheduledFuture<?> reconnectTask;
    private boolean closed;
    private boolean everConnected;
    private int attempts;

    /** A subscription's flags, repeated when it is resubscribed. */
    private record Sub(boolean presence, boolean snapshot) {
    }

    /** Internal per-channel listener (live documents and queries); called on the receive thread. */
    interface ChannelListener {
        /** A subscribe reply for the channel (first and after every reconnect). */
        default void subscribed(ServerFrame.Reply reply) {
        }

        /** A delivered (not duplicate) event of the channel. */
        default void event(ServerFrame.Event event) {
        }

        /** After a reconnect, the gap could not be replayed; {@code top} is the channel's position. */
        default void recoveryLost(Position top) {
        }

        /** The (re)subscription was refused for good. */
        default void ended(TandemClientException error) {
        }
    }

    /** A request waiting for its reply; {@code onReply} runs on the receive thread before the future completes. */
    private record Pending(Connection connection, CompletableFuture<ServerFrame.Reply> future,
                           Consumer<ServerFrame.Reply> onReply) {
    }

    private TandemClient(Builder b) {
        uri = b.uri;
        token = Objects.requireNonNull(b.token, "token supplier is required");
        tokenInHeader = b.tokenInHeader;
        backoff = b.backoff;
        requestTimeout = b.requestTimeout;
        headers = List.copyOf(b.headers);
        onEvent = b.onEvent;
        onPresence = b.onPresence;
        onConflict = b.onConflict;
        onError = b.onError;
        onDisconnect = b.onDisconnect;
        onRecoveryLost = b.onRecoveryLost;
        onStateChange = b.onStateChange;
        inbox = b.inbox;
        ownsHttp = b.httpClient == null;
        // opened first: a journal that cannot be opened fails build() before anything starts
        QueueStore store = b.queueFile != null ? FileJournal.open(b.queueFile, b.queueMaxBytes)
                : new MemoryQueueStore(b.queueMaxBytes);
        documents = new Documents(new Documents.Link() {
            @Override
            public Optional<ServerFrame.Welcome> ready() {
                return readyWelcome();
            }

            @Override
            public Optional<ServerFrame.Welcome> last() {
                return Optional.ofNullable(lastWelcome);
            }

            @Override
            public CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frame, Duration timeout) {
                return TandemClient.this.request(frame, timeout.isZero() ? requestTimeout : timeout);
            }
        }, store);
        documents.attach(this);
        http = ownsHttp ? HttpClient.newHttpClient() : b.httpClient;
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-client-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setKeepAliveTime(1, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true); // no thread lingers once nothing is scheduled
        receiver = new java.util.concurrent.ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS,
                new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "tandem-client-receive");
                    t.setDaemon(true);
                    return t;
                });
        receiver.allowCoreThreadTimeOut(true);
    }

    /** A builder for a client of the gateway at {@code uri} ({@code ws://} or {@code wss://}). */
    public static Builder builder(URI uri) {
        return new Builder(uri);
    }

    // ---------------------------------------------------------------- lifecycle

    /**
     * Opens the connection and authenticates. The future completes with the server's
     * {@code welcome}, or exceptionally with a {@link TandemClientException} when the upgrade is
     * refused, authentication fails, the socket closes or no welcome arrives within the
     * request timeout; a failed first connection is not retried (call {@code connect()} again).
     * While connecting, connected or reconnecting, returns the future of the earlier call.
     * After {@link #close()} the future fails.
     */
    public CompletableFuture<ServerFrame.Welcome> connect() {
        Connection c;
        lock.lock();
        try {
            if (closed) {
                return CompletableFuture.failedFuture(unavailable("the client is closed"));
            }
            if (state != State.CLOSED) {
                return lastConnect;
            }
            everConnected = false;
            attempts = 0;
            setState(State.CONNECTING);
            c = new Connection();
            current = c;
            lastConnect = c.welcome;
        } finally {
            lock.unlock();
        }
        c.open();
        return c.welcome;
    }

    /** The current state; changes are also reported to {@link Builder#onStateChange}. */
    public State state() {
        return state;
    }

    /**
     * Closes the connection with 1000 and stops reconnecting, for good: pending requests fail
     * with {@link ErrorCode#UNAVAILABLE}, and the offline queue's journal is closed (what it holds
     * is sent by the next client on the same file). Do not call it from a documents listener. Idempotent; does not wait for the closing handshake
     * (the socket is aborted if the server does not finish it within two seconds).
     */
    @Override
    public void close() {
        Connection c;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (reconnectTask != null) {
                reconnectTask.cancel(false);
            }
            c = current;
            current = null;
            setState(State.CLOSED);
        } finally {
            lock.unlock();
        }
        if (c != null && c.ended.compareAndSet(false, true)) {
            c.fail(unavailable("the client is closed"));
            WebSocket ws = c.ws;
            if (ws != null) {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> ws);
            }
        }
        documents.close();
        timer.schedule(() -> {
            if (c != null) {
                c.abort();
            }
            if (ownsHttp) {
                http.shutdown();
            }
            receiver.shutdown();
        }, CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ---------------------------------------------------------------- requests

    /**
     * Sends a frame built for a fresh id (ids increase from 1) and returns its reply. The
     * future completes with the {@code reply} carrying that id, or exceptionally with a
     * {@link TandemClientException}: the server's {@link ErrorCode} for an {@code error} with
     * that id; {@link ErrorCode#UNAVAILABLE} when not connected, when the connection is lost
     * before the reply, or when no reply comes within the request timeout. A successful
     * {@code subscribe} is remembered for recovery; an {@code unsubscribe} is forgotten at once.
     *
     * @throws IllegalArgumentException if the built frame does not carry the id it was given
     */
    public CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frameWithId) {
        return request(frameWithId, requestTimeout);
    }

    /** {@link #request(LongFunction)} with its own reply timeout (large {@code sync} batches). */
    CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frameWithId, Duration replyTimeout) {
        long id = ids.getAndIncrement();
        ClientFrame frame = frameWithId.apply(id);
        if (frame.id() != id) {
            throw new IllegalArgumentException("the frame must carry id " + id + ", not " + frame.id());
        }
        Consumer<ServerFrame.Reply> onReply = r -> { };
        if (frame instanceof ClientFrame.Subscribe s) {
            onReply = r -> subscribed(s, r);
        } else if (frame instanceof ClientFrame.Unsubscribe u) {
            channels.remove(u.channel());
            positions.forget(u.channel());
        }
        Connection c = current;
        if (c == null || !c.ready || c.ended.get()) {
            return CompletableFuture.failedFuture(unavailable("not connected"));
        }
        String text = codec.encode(frame);
        CompletableFuture<ServerFrame.Reply> future = new CompletableFuture<>();
        Pending p = new Pending(c, future, onReply);
        pending.put(id, p);
        ScheduledFuture<?> timeout = timer.schedule(
                () -> future.completeExceptionally(unavailable("no reply within " + replyTimeout)),
                replyTimeout.toMillis(), TimeUnit.MILLISECONDS);
        future.whenComplete((r, e) -> {
            timeout.cancel(false);
            pending.remove(id, p);
        });
        if (c.ended.get()) { // lost while registering: the loss may have missed this request
            future.completeExceptionally(unavailable("connection lost"));
        } else {
            c.send(text);
        }
        return future;
    }

    /**
     * Subscribes to a channel, recovering from the remembered position if there is one. On
     * success the channel is resubscribed after every reconnect.
     */
    public CompletableFuture<ServerFrame.Reply> subscribe(String channel) {
        return request(id -> new ClientFrame.Subscribe(id, channel, positions.get(channel), false));
    }

    /**
     * Subscribes to a channel from a given position ({@code since}: the server replays what came
     * after it; the client's own remembered position wins when it is newer in the same epoch),
     * and with {@code snapshot} (only {@code doc:} channels) the reply carries the document, read
     * after the subscription went live. Both are repeated on every resubscribe after a reconnect.
     */
    public CompletableFuture<ServerFrame.Reply> subscribe(String channel, Optional<Position> since, boolean snapshot) {
        since.ifPresent(p -> positions.accept(channel, p));
        return request(id -> new ClientFrame.Subscribe(id, channel, positions.get(channel), false, snapshot));
    }

    /** The documents API and the offline queue of this client. */
    public Documents documents() {
        return documents;
    }

    /** The welcome of the current connection while it is ready for requests. */
    public Optional<ServerFrame.Welcome> welcome() {
        return readyWelcome();
    }

    private Optional<ServerFrame.Welcome> readyWelcome() {
        Connection c = current;
        return c != null && c.ready && !c.ended.get() ? Optional.ofNullable(c.welcomeFrame) : Optional.empty();
    }

    /** Whether the channel is subscribed (or being resubscribed). */
    boolean isSubscribed(String channel) {
        return channels.containsKey(channel);
    }

    /** Adds an internal listener of a channel; returns its remover. */
    Runnable addChannelListener(String channel, ChannelListener listener) {
        channelListeners.computeIfAbsent(channel, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(listener);
        return () -> channelListeners.computeIfPresent(channel, (k, list) -> {
            list.remove(listener);
            return list.isEmpty() ? null : list;
        });
    }

    private void forChannel(String channel, Consumer<ChannelListener> call) {
        List<ChannelListener> list = channelListeners.get(channel);
        if (list != null) {
            for (ChannelListener l : list) {
                emit(call, l);
            }
        }
    }

    private boolean isOwnInbox(String channel) {
        Connection c = current;
        ServerFrame.Welcome w = c == null ? null : c.welcomeFrame;
        return w != null && channel.equals("user:" + w.user());
    }

    /** Acknowledges inbox frames once handled, at most one ack per quarter second. */
    private void scheduleAck(String channel, Position position, CompletableFuture<?> handled) {
        if (!inbox) {
            return;
        }
        handled.whenComplete((x, e) -> {
            if (e != null) {
                LOG.log(Level.WARNING, "not acknowledging {0} at {1}: handling failed", channel, position.offset());
                return;
            }
            ackTarget.accumulateAndGet(position, (old, now) -> old == null || !old.epoch().equals(now.epoch())
                    || old.offset() < now.offset() ? now : old);
            if (ackScheduled.compareAndSet(false, true)) {
                timer.schedule(this::sendAck, 250, TimeUnit.MILLISECONDS);
            }
        });
    }

    private void sendAck() {
        ackScheduled.set(false);
        Optional<ServerFrame.Welcome> w = readyWelcome();
        if (w.isEmpty()) {
            return; // sent after the next welcome
        }
        Position p = ackTarget.getAndSet(null);
        if (p == null) {
            return;
        }
        String channel = "user:" + w.get().user();
        request(id -> new ClientFrame.Ack(id, channel, p.offset(), Optional.of(p.epoch())))
                .whenComplete((r, e) -> {
                    if (e != null) {
                        LOG.log(Level.DEBUG, "ack of {0} at {1}: {2}", channel, p.offset(), e.getMessage());
                    }
                });
    }

    /** Unsubscribes from a channel; it is forgotten (no resubscribe, no position) at once. */
    public CompletableFuture<ServerFrame.Reply> unsubscribe(String channel) {
        return request(id -> new ClientFrame.Unsubscribe(id, channel));
    }

    /** Publishes a durable event of {@code type} with {@code data} to a channel. */
    public CompletableFuture<ServerFrame.Reply> publish(String channel, String type, JsonNode data) {
        return request(id -> new ClientFrame.Publish(id, channel, type, data, false));
    }

    /** Sends an application-level ping; completes with its reply. */
    public CompletableFuture<ServerFrame.Reply> ping() {
        return request(ClientFrame.Ping::new);
    }

    /** Replaces the connection's token before it expires (reconnects still ask the token supplier). */
    public CompletableFuture<ServerFrame.Reply> refresh(String token) {
        return request(id -> new ClientFrame.Refresh(id, token));
    }

    /** Acknowledges inbox messages up to and including {@code offset} on a {@code user:} channel. */
    public CompletableFuture<ServerFrame.Reply> ack(String channel, long offset) {
        // with the epoch of what was received, so an inbox whose history was lost refuses the ack
        Optional<String> epoch = positions.get(channel).map(Position::epoch);
        return request(id -> new ClientFrame.Ack(id, channel, offset, epoch));
    }

    /** The last position seen on a channel (from its events or subscribe reply), if any. */
    public Optional<Position> position(String channel) {
        return positions.get(channel);
    }

    // ---------------------------------------------------------------- receiving

    private void receive(Connection c, String text) {
        ServerFrame frame;
        try {
            frame = codec.decodeServer(text);
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
            case ServerFrame.Event e -> {
                Optional<Position> before = e.position().flatMap(p -> positions.get(e.channel()));
                if (e.position().map(p -> positions.accept(e.channel(), p)).orElse(true)) {
                    newEpoch(e.channel(), before, e.position().get());
                    emit(onEvent, e);
                    boolean own = isOwnInbox(e.channel());
                    documents.event(e, own);
                    forChannel(e.channel(), l -> l.event(e));
                    if (own && e.position().isPresent()) {
                        scheduleAck(e.channel(), e.position().get(), CompletableFuture.completedFuture(null));
                    }
                } else {
                    LOG.log(Level.DEBUG, "dropping duplicate event at {0} on {1}", e.position().get(), e.channel());
                }
            }
            case ServerFrame.Presence p -> emit(onPresence, p);
            case ServerFrame.Conflict k -> {
                // a durable inbox publication: de-duplicated by offset like an event
                Optional<Position> before = positions.get(k.channel());
                if (positions.accept(k.channel(), k.position())) {
                    newEpoch(k.channel(), before, k.position());
                    emit(onConflict, k);
                    CompletableFuture<Void> handled = documents.conflictFrame(k);
                    if (isOwnInbox(k.channel())) {
                        scheduleAck(k.channel(), k.position(), handled);
                    }
                } else {
                    LOG.log(Level.DEBUG, "dropping duplicate conflict at {0} on {1}", k.position(), k.channel());
                }
            }
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
                emit(onError, e);
            }
            case ServerFrame.Disconnect d -> {
                c.disconnect = d; // the close that follows is judged by its reconnect hint
                emit(onDisconnect, d);
            }
        }
    }

    private void welcomed(Connection c, ServerFrame.Welcome w) {
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
            setState(State.CONNECTED);
        } finally {
            lock.unlock();
        }
        LOG.log(Level.DEBUG, "connected to {0} as {1}, session {2}", w.node(), w.user(), w.session());
        channels.forEach(this::resubscribe);
        String own = "user:" + w.user();
        if (inbox && !channels.containsKey(own)) {
            subscribe(own).whenComplete((r, e) -> {
                if (e != null) {
                    LOG.log(Level.WARNING, "subscribing to the inbox {0} failed: {1}", own, e.getMessage());
                }
            });
        }
        if (ackTarget.get() != null && ackScheduled.compareAndSet(false, true)) {
            // an acknowledgement the last connection could not send
            timer.schedule(this::sendAck, 250, TimeUnit.MILLISECONDS);
        }
        documents.connected();
        c.welcome.complete(w);
    }

    private void resubscribe(String channel, Sub sub) {
        Optional<Position> since = positions.get(channel);
        request(id -> new ClientFrame.Subscribe(id, channel, since, sub.presence(), sub.snapshot()))
                .whenComplete((r, e) -> {
                    if (e instanceof TandemClientException t && t.code().isPresent() && !t.code().get().isTransient()) {
                        LOG.log(Level.WARNING, "resubscribing to {0} failed, dropping it: {1}", channel, t.getMessage());
                        channels.remove(channel);
                        positions.forget(channel);
                        forChannel(channel, l -> l.ended(t));
                        emit(onError, new ServerFrame.Error(0, t.code().get(),
                                "resubscribing to " + channel + " failed: " + t.getMessage()));
                    }
                });
    }

    private void subscribed(ClientFrame.Subscribe s, ServerFrame.Reply r) {
        ObjectNode body = r.body();
        JsonNode epoch = body.path("epoch");
        JsonNode offset = body.path("offset");
        boolean inboxReplay = s.since().isEmpty() && body.path("inbox").asLong(0) > 0;
        if (inboxReplay) {
            // the own inbox: its unacknowledged messages (at or below the top) follow this
            // reply; holding no position yet lets them in, and they set it
            LOG.log(Level.DEBUG, "{0}: {1} unacknowledged messages follow", s.channel(), body.path("inbox").asLong());
        } else if (epoch.isTextual() && !epoch.textValue().isEmpty()
                && offset.isIntegralNumber() && offset.canConvertToLong() && offset.longValue() >= 0) {
            positions.top(s.channel(), new Position(epoch.textValue(), offset.longValue()),
                    body.path("recovered").asBoolean(false));
        }
        channels.put(s.channel(), new Sub(s.presence(), s.snapshot()));
        forChannel(s.channel(), l -> l.subscribed(r));
        if (s.since().isPresent() && !body.path("recovered").asBoolean(false)) {
            // the server could not replay the gap (too old, or the history was lost and the
            // channel is in a new epoch): the app must re-read state instead of trusting the stream
            if (epoch.isTextual() && !epoch.textValue().isEmpty() && offset.canConvertToLong()) {
                recoveryLost(s.channel(), new Position(epoch.textValue(), offset.longValue()));
            } else {
                LOG.log(Level.WARNING, "{0}: missed events could not be recovered (the reply names no position)",
                        s.channel());
            }
        }
    }

    /**
     * A live event or conflict in another epoch than the position held for its channel: the
     * server lost the channel's history (e.g. Redis restarted without persistence) while this
     * connection stayed up, so what was published before {@code now} may never arrive. Reported
     * like a gap the server could not replay, before {@code now} itself is delivered.
     */
    private void newEpoch(String channel, Optional<Position> before, Position now) {
        if (before.isPresent() && !before.get().epoch().equals(now.epoch())) {
            LOG.log(Level.INFO, "{0} moved from epoch {1} to {2}", channel, before.get().epoch(), now.epoch());
            recoveryLost(channel, now);
        }
    }

    /** Tells the application and the live views of a channel that missed events are gone. */
    private void recoveryLost(String channel, Position top) {
        LOG.log(Level.INFO, "{0}: missed events could not be recovered", channel);
        try {
            onRecoveryLost.accept(channel, top);
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "onRecoveryLost listener failed", ex);
        }
        forChannel(channel, l -> l.recoveryLost(top));
    }

    // ---------------------------------------------------------------- connection loss

    /**
     * Ends a connection, decides whether and when to reconnect, then fails what waited on the
     * connection (so a failed future already sees the new state). Idempotent per connection.
     */
    private void lost(Connection c, TandemClientException why, boolean retry) {
        if (!c.ended.compareAndSet(false, true)) {
            return;
        }
        lock.lock();
        try {
            if (c == current) {
                current = null;
                scheduleReconnect(why, retry);
            }
        } finally {
            lock.unlock();
        }
        c.fail(why);
    }

    private void scheduleReconnect(TandemClientException why, boolean retry) { // with the lock held
        Optional<Duration> delay = closed || !retry || !everConnected ? Optional.empty() : backoff.delay(++attempts);
        LOG.log(delay.isPresent() ? Level.INFO : Level.WARNING, "connection lost ({0}); {1}", why.getMessage(),
                delay.map(d -> "reconnecting in " + d.toMillis() + " ms").orElse("not reconnecting"));
        if (delay.isEmpty()) {
            setState(State.CLOSED);
            return;
        }
        setState(State.RECONNECTING);
        reconnectTask = timer.schedule(this::reconnect, delay.get().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void reconnect() {
        Connection c;
        lock.lock();
        try {
            if (closed || state != State.RECONNECTING || current != null) {
                return;
            }
            c = new Connection();
            current = c;
        } finally {
            lock.unlock();
        }
        c.open();
    }

    private void setState(State s) { // with the lock held, so listeners see transitions in order
        if (state != s) {
            state = s;
            emit(onStateChange, s);
        }
    }

    private static <T> void emit(Consumer<? super T> listener, T value) {
        try {
            listener.accept(value);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a listener failed on " + value.getClass().getSimpleName(), e);
        }
    }

    private static TandemClientException unavailable(String message) {
        return new TandemClientException(ErrorCode.UNAVAILABLE, message);
    }

    /** One WebSocket and its per-socket state; callbacks of an ended connection are ignored. */
    private final class Connection implements WebSocket.Listener {
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
        private final java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
        /** Set when a frame was not followed by {@code request(1)} because too many wait (backpressure). */
        private final AtomicBoolean demandHeld = new AtomicBoolean();
        /** Whether a liveness ping is in flight. */
        private final AtomicBoolean probing = new AtomicBoolean();
        private volatile ScheduledFuture<?> welcomeTimeout;
        private volatile ScheduledFuture<?> watchdog;

        void open() {
            if (ended.get()) { // closed before it started
                return;
            }
            welcomeTimeout = timer.schedule(() -> {
                abort();
                lost(this, unavailable("no welcome within " + requestTimeout), true);
            }, requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
            try {
                token = Objects.requireNonNull(TandemClient.this.token.get(), "the token supplier returned null");
            } catch (RuntimeException e) {
                // no socket was opened: the first connect() fails with it, a reconnect is retried
                LOG.log(Level.WARNING, "the token supplier failed: {0}", e.getClass().getSimpleName());
                lost(this, TandemClientException.tokenUnavailable(e), true);
                return;
            }
            try {
                WebSocket.Builder b = http.newWebSocketBuilder()
                        .subprotocols(FrameCodec.SUBPROTOCOL)
                        .connectTimeout(requestTimeout);
                headers.forEach(h -> b.header(h.getKey(), h.getValue()));
                if (tokenInHeader) {
                    b.header("Authorization", "Bearer " + token);
                }
                b.buildAsync(uri, this).whenComplete((ws, e) -> {
                    if (e != null) {
                        upgradeFailed(e instanceof CompletionException ce && ce.getCause() != null ? ce.getCause() : e);
                    } else if (ended.get()) {
                        ws.abort();
                    }
                });
            } catch (RuntimeException e) {
                lost(this, unavailable("cannot connect: " + e), true);
            }
        }

        private void upgradeFailed(Throwable e) {
            if (e instanceof WebSocketHandshakeException h && h.getResponse().statusCode() / 100 == 4) {
                int status = h.getResponse().statusCode();
                ErrorCode code = status == 401 ? ErrorCode.UNAUTHORIZED
                        : status == 403 ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST;
                lost(this, new TandemClientException(code, "upgrade refused with HTTP " + status), false);
            } else {
                lost(this, unavailable("cannot connect: " + e), true);
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
                                lost(this, unavailable("send failed: " + e), true);
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
            watchdog = timer.scheduleWithFixedDelay(() -> {
                long sent = System.nanoTime();
                if (ended.get() || sent - lastSeen < quiet || !probing.compareAndSet(false, true)) {
                    return;
                }
                request(ClientFrame.Ping::new).whenComplete((r, e) -> {
                    probing.set(false);
                    if (e != null && !ended.get() && lastSeen - sent < 0) { // nothing heard since the ping
                        abort();
                        lost(this, new TandemClientException(ABNORMAL_CLOSE, "the server stopped answering"), true);
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
                receiver.execute(() -> {
                    try {
                        if (!ended.get()) {
                            receive(this, message);
                        }
                    } catch (RuntimeException e) {
                        LOG.log(Level.ERROR, "failed to handle a frame from the server", e);
                    } finally {
                        queued.decrementAndGet();
                        resumeReading(webSocket);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
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
                lost(this, new TandemClientException(closeCode, why), reconnectHint(closeCode));
            };
            try {
                receiver.execute(end);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                end.run(); // the client is closed: nothing waits for those frames
            }
        }

        /** Fails what waits on this connection, once it has ended. */
        void fail(TandemClientException why) {
            cancelTimers();
            welcome.completeExceptionally(why);
            pending.values().forEach(p -> {
                if (p.connection() == this) {
                    p.future().completeExceptionally(unavailable("connection lost: " + why.getMessage()));
                }
            });
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
            if (!tokenInHeader) {
                send(codec.encode(new ClientFrame.Connect(0, token)));
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
                lost(this, new TandemClientException(CloseCode.TOO_LARGE.code(), "message from the server too large"),
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

    // ---------------------------------------------------------------- builder

    /** Configures a {@link TandemClient}; not thread-safe. Only the token supplier is required. */
    public static final class Builder {
        private final URI uri;
        private Supplier<String> token;
        private boolean tokenInHeader;
        private Backoff backoff = Backoff.defaults();
        private Duration requestTimeout = Duration.ofSeconds(10);
        private HttpClient httpClient;
        private final List<Map.Entry<String, String>> headers = new ArrayList<>();
        private Consumer<ServerFrame.Event> onEvent = e -> { };
        private Consumer<ServerFrame.Presence> onPresence = p -> { };
        private Consumer<ServerFrame.Conflict> onConflict = c -> { };
        private Consumer<ServerFrame.Error> onError = e -> { };
        private Consumer<ServerFrame.Disconnect> onDisconnect = d -> { };
        private java.util.function.BiConsumer<String, Position> onRecoveryLost = (c, p) -> { };
        private Consumer<State> onStateChange = s -> { };
        private java.nio.file.Path queueFile;
        private long queueMaxBytes;
        private boolean inbox;

        private Builder(URI uri) {
            this.uri = Objects.requireNonNull(uri, "uri");
            if (!"ws".equals(uri.getScheme()) && !"wss".equals(uri.getScheme())) {
                throw new IllegalArgumentException("the uri must be ws:// or wss://");
            }
        }

        /**
         * Supplies the token; called once per connection attempt (so it can fetch a fresh one).
         * Required. When it throws or returns null no socket is opened and the attempt fails
         * with a {@link TandemClientException} whose {@link TandemClientException#tokenUnavailable()}
         * is true: {@link #connect()} completes exceptionally with it, a reconnect is retried
         * with backoff.
         */
        public Builder token(Supplier<String> token) {
            this.token = Objects.requireNonNull(token, "token");
            return this;
        }

        /**
         * Whether to send the token as {@code Authorization: Bearer} on the upgrade request
         * ({@code true}) or in a {@code connect} frame as the first frame ({@code false}, the default).
         */
        public Builder tokenInHeader(boolean tokenInHeader) {
            this.tokenInHeader = tokenInHeader;
            return this;
        }

        /** How to wait between reconnect attempts ({@link Backoff#defaults()} unless set; {@link Backoff#none()} disables). */
        public Builder reconnect(Backoff backoff) {
            this.backoff = Objects.requireNonNull(backoff, "backoff");
            return this;
        }

        /** How long a request waits for its reply, and a connection for its upgrade and welcome (default 10 s). */
        public Builder requestTimeout(Duration timeout) {
            if (!timeout.isPositive()) {
                throw new IllegalArgumentException("the request timeout must be positive");
            }
            this.requestTimeout = timeout;
            return this;
        }

        /** The HTTP client to open WebSockets with; by default the client makes (and shuts down) its own. */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = Objects.requireNonNull(httpClient, "httpClient");
            return this;
        }

        /** Adds a header to the upgrade request, e.g. {@code Origin}. */
        public Builder header(String name, String value) {
            headers.add(Map.entry(name, value));
            return this;
        }

        /** Receives events, durable ones de-duplicated by offset. */
        public Builder onEvent(Consumer<ServerFrame.Event> listener) {
            this.onEvent = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Receives presence joins, leaves and snapshots. */
        public Builder onPresence(Consumer<ServerFrame.Presence> listener) {
            this.onPresence = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Receives document conflicts waiting for {@code conflict.resolve}. */
        public Builder onConflict(Consumer<ServerFrame.Conflict> listener) {
            this.onConflict = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Receives errors not tied to a request: {@code error} frames without an id, and a
         * refused resubscribe after a reconnect (the channel is then dropped).
         */
        public Builder onError(Consumer<ServerFrame.Error> listener) {
            this.onError = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Told of each channel whose missed events will not arrive, with the channel's position
         * from which the stream goes on: a subscribe (or the resubscribe after a reconnect) from
         * a position the server could not replay ({@code recovered: false}: older than the
         * channel's history, or the channel's epoch changed), or a live event or conflict in a
         * new epoch (the server lost the channel's history while connected, e.g. Redis restarted
         * without persistence; called before that event is delivered). Re-read state for that
         * channel ({@code doc.get} or your backend): events before that position are gone. Live
         * documents and queries of the channel reload by themselves. The TypeScript client's
         * {@code recoveryLost} / {@code onRecoveryLost} report the same cases.
         *
         * @param listener the listener
         * @return this builder
         */
        public Builder onRecoveryLost(java.util.function.BiConsumer<String, Position> listener) {
            this.onRecoveryLost = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Receives the server's {@code disconnect} frame, sent just before it closes the socket. */
        public Builder onDisconnect(Consumer<ServerFrame.Disconnect> listener) {
            this.onDisconnect = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Receives every state change, in order; runs with the client's lifecycle lock held, so must not block. */
        public Builder onStateChange(Consumer<State> listener) {
            this.onStateChange = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * Persists the offline operation queue ({@link Documents}) to this file, an append-only
         * journal forced to disk on every write (a lock file next to it keeps a second client
         * out). Without it the queue lives in memory and does not survive the process.
         */
        public Builder queue(java.nio.file.Path file) {
            this.queueFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /** The largest the queue's storage may grow, in bytes (0, the default: no limit but the disk's). */
        public Builder queueMaxBytes(long maxBytes) {
            if (maxBytes < 0) {
                throw new IllegalArgumentException("maxBytes must not be negative");
            }
            this.queueMaxBytes = maxBytes;
            return this;
        }

        /**
         * Subscribes to the user's own inbox ({@code user:{you}}) on every connection (default
         * false): manual-conflict notices, {@code doc.overwritten} and backend confirmations
         * arrive there, and are acknowledged once their listeners ran.
         */
        public Builder inbox(boolean inbox) {
            this.inbox = inbox;
            return this;
        }

        /**
         * Builds the client, not yet connected.
         *
         * @throws NullPointerException if no token supplier was set
         * @throws QueueStorageException if the queue journal cannot be opened (in use, unreadable)
         */
        public TandemClient build() {
            return new TandemClient(this);
        }
    }
}
