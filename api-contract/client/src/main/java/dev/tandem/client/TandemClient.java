package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
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
 *
 * <p>The client by concept: {@link Connection} (connecting, requests, loss and reconnects),
 * {@link Transport} (one WebSocket), {@link Subscriptions} (channels, positions, recovery),
 * {@link Inbox} (the user's inbox and acks), {@link Documents} (documents and the offline queue).
 */
public final class TandemClient implements AutoCloseable {
    static final System.Logger LOG = System.getLogger(TandemClient.class.getName());
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(2);

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

    // the configuration, read by the concepts
    final URI uri;
    final Supplier<String> token;
    final boolean tokenInHeader;
    final Backoff backoff;
    final Duration requestTimeout;
    final HttpClient http;
    private final boolean ownsHttp;
    final List<Map.Entry<String, String>> headers;
    final Consumer<ServerFrame.Event> onEvent;
    final Consumer<ServerFrame.Presence> onPresence;
    final Consumer<ServerFrame.Conflict> onConflict;
    final Consumer<ServerFrame.Error> onError;
    final Consumer<ServerFrame.Disconnect> onDisconnect;
    final java.util.function.BiConsumer<String, Position> onRecoveryLost;
    final Consumer<State> onStateChange;
    final FrameCodec codec = FrameCodec.create();
    final ScheduledThreadPoolExecutor timer;
    /** Handles received frames one at a time, in order, off the WebSocket's own thread (see Transport#onText). */
    final ThreadPoolExecutor receiver;

    private final Documents documents;
    final Subscriptions subscriptions;
    final Inbox inbox;
    final Connection connection;

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
        ownsHttp = b.httpClient == null;
        // opened first: a journal that cannot be opened fails build() before anything starts
        QueueStore store = b.queueFile != null ? FileJournal.open(b.queueFile, b.queueMaxBytes)
                : new MemoryQueueStore(b.queueMaxBytes);
        documents = new Documents(new Documents.Link() {
            @Override
            public Optional<ServerFrame.Welcome> ready() {
                return connection.readyWelcome();
            }

            @Override
            public Optional<ServerFrame.Welcome> last() {
                return connection.lastWelcome();
            }

            @Override
            public CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frame, Duration timeout) {
                return TandemClient.this.request(frame, timeout.isZero() ? requestTimeout : timeout);
            }
        }, store);
        documents.attach(this);
        subscriptions = new Subscriptions(this);
        inbox = new Inbox(this, b.inbox);
        connection = new Connection(this);
        http = ownsHttp ? HttpClient.newHttpClient() : b.httpClient;
        timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-client-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        timer.setKeepAliveTime(1, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true); // no thread lingers once nothing is scheduled
        receiver = new ThreadPoolExecutor(1, 1, 1, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
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
        return connection.connect();
    }

    /** The current state; changes are also reported to {@link Builder#onStateChange}. */
    public State state() {
        return connection.state();
    }

    /**
     * Closes the connection with 1000 and stops reconnecting, for good: pending requests fail
     * with {@link ErrorCode#UNAVAILABLE}, and the offline queue's journal is closed (what it holds
     * is sent by the next client on the same file). Do not call it from a documents listener. Idempotent; does not wait for the closing handshake
     * (the socket is aborted if the server does not finish it within two seconds).
     */
    @Override
    public void close() {
        Optional<Connection.Closing> closing = connection.close();
        if (closing.isEmpty()) {
            return;
        }
        Transport c = closing.get().transport().orElse(null);
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

    CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frameWithId, Duration replyTimeout) {
        return connection.request(frameWithId, replyTimeout);
    }

    /** {@link #request(LongFunction)} with its own reply timeout (large {@code sync} batches). */
    /**
     * Subscribes to a channel, recovering from the remembered position if there is one. On
     * success the channel is resubscribed after every reconnect.
     */
    public CompletableFuture<ServerFrame.Reply> subscribe(String channel) {
        return request(id -> new ClientFrame.Subscribe(id, channel, subscriptions.positions.get(channel), false));
    }

    /**
     * Subscribes to a channel from a given position ({@code since}: the server replays what came
     * after it; the client's own remembered position wins when it is newer in the same epoch),
     * and with {@code snapshot} (only {@code doc:} channels) the reply carries the document, read
     * after the subscription went live. Both are repeated on every resubscribe after a reconnect.
     */
    public CompletableFuture<ServerFrame.Reply> subscribe(String channel, Optional<Position> since, boolean snapshot) {
        since.ifPresent(p -> subscriptions.positions.accept(channel, p));
        return request(id -> new ClientFrame.Subscribe(id, channel, subscriptions.positions.get(channel), false, snapshot));
    }

    /**
     * Subscribes with {@code delta: "fossil"}: payloads travel as deltas where the channel's
     * namespace allows it (the reply's {@code delta} says), and are handed on whole as ever.
     */
    public CompletableFuture<ServerFrame.Reply> subscribeWithDeltas(String channel) {
        return request(id -> new ClientFrame.Subscribe(id, channel, subscriptions.positions.get(channel), false, false,
                Optional.of(ClientFrame.Subscribe.FOSSIL)));
    }

    /** The documents API and the offline queue of this client. */
    public Documents documents() {
        return documents;
    }

    /** The user's push devices (FCM and APNs tokens) on the gateway this client connects to, over HTTP. */
    public PushDevices pushDevices() {
        return PushDevices.of(this);
    }

    /** The welcome of the current connection while it is ready for requests. */
    public Optional<ServerFrame.Welcome> welcome() {
        return connection.readyWelcome();
    }

    /** Whether the channel is subscribed (or being resubscribed). */
    boolean isSubscribed(String channel) {
        return subscriptions.has(channel);
    }

    /** Adds an internal listener of a channel; returns its remover. */
    Runnable addChannelListener(String channel, ChannelListener listener) {
        return subscriptions.addChannelListener(channel, listener);
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
        Optional<String> epoch = subscriptions.positions.get(channel).map(Position::epoch);
        return request(id -> new ClientFrame.Ack(id, channel, offset, epoch));
    }

    /** The last position seen on a channel (from its events or subscribe reply), if any. */
    public Optional<Position> position(String channel) {
        return subscriptions.positions.get(channel);
    }

    static <T> void emit(Consumer<? super T> listener, T value) {
        try {
            listener.accept(value);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "a listener failed on " + value.getClass().getSimpleName(), e);
        }
    }

    static TandemClientException unavailable(String message) {
        return new TandemClientException(ErrorCode.UNAVAILABLE, message);
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
