package dev.tandem.session;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.operations.UserRates;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.protocol.Utf8;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * The connection runtime of one node: it opens a {@link Session} per connection, whatever its
 * {@link Transport}, on the node's {@link Operations}; admits it (draining, the node's, the
 * address's and the tenant's connection limits); runs the sessions' timers (one sweep for all);
 * takes the requests an event stream sends apart from its stream ({@link #request}); closes the
 * connections a revocation names; and drains them on shutdown. It hands out nothing of the layer
 * below: a transport feeds sessions, and sessions call operations.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String nodeId;
    private final FrameCodec codec;
    private final Operations operations;
    private final SessionLimits limits;
    private final Telemetry telemetry;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Writers writers;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final FleetLimits fleet;
    private final Caps perTenant = new Caps();
    private final Caps perAddress = new Caps();
    private final Optional<UserRates> userRates;
    private final Dispatcher dispatcher;
    private final Requests requests;
    private volatile boolean accepting = true;
    /** How writers encode replayed publications: one function for every connection. */
    private final java.util.function.Function<dev.tandem.hub.Publication, String> publicationEncoder;
    /** Which namespaces batch their publications, for every connection's queue. */
    private final Batching batching;

    private Engine(Builder b) {
        this.nodeId = b.nodeId;
        this.codec = b.codec;
        this.operations = b.operations;
        this.limits = b.limits;
        this.telemetry = b.telemetry;
        this.clock = b.clock;
        this.fleet = b.fleet;
        this.batching = Batching.of(b.rules);
        FrameCodec c = b.codec;
        this.publicationEncoder = p -> c.encode(p.toFrame());
        this.userRates = fleet.userMessagesPerSecond() > 0
                ? Optional.of(new UserRates(fleet.userMessagesPerSecond(), fleet.effectiveUserBurst()))
                : Optional.empty();
        this.dispatcher = new Dispatcher(operations, limits, telemetry);
        this.requests = new Requests(this);
        operations.fleet().onNotice(this::notice);
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-timers");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        this.scheduler = timers;
        this.writers = new Writers(b.writers, timers);
        long period = sweepPeriod(limits).toNanos();
        timers.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    /**
     * How often the sweep runs the sessions' timers: an eighth of the shortest of them (heartbeat
     * interval, auth timeout), at most a second (the token expiry's precision), at least a
     * millisecond.
     */
    static Duration sweepPeriod(SessionLimits limits) {
        Duration shortest = limits.heartbeatInterval().compareTo(limits.authTimeout()) < 0
                ? limits.heartbeatInterval() : limits.authTimeout();
        long nanos = shortest.toNanos() / 8;
        return Duration.ofNanos(Math.clamp(nanos, TimeUnit.MILLISECONDS.toNanos(1), TimeUnit.SECONDS.toNanos(1)));
    }

    /**
     * The node's one timer task for its sessions: each session's heartbeat, auth timeout and
     * token expiry are deadlines this walk checks (a scheduled task per session and timer cost
     * hundreds of bytes per connection). A session that fails is logged and the walk goes on: an
     * exception would end a periodic task for good.
     */
    private void sweep() {
        long nowNanos = System.nanoTime();
        long nowMillis = clock.millis();
        for (Session s : sessions.values()) {
            try {
                s.sweep(nowNanos, nowMillis);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.ERROR, "session " + s.id() + ": timer failed", e);
            }
        }
    }

    /** A builder; {@link Builder#operations} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Opens a session for a new connection.
     *
     * @param transport    the connection
     * @param upgradeToken the bearer token of the upgrade request, if it had one; otherwise the
     *                     client must send {@code connect} within the auth timeout
     * @return the session, to be fed with the connection's inbound messages
     */
    public Session open(Transport transport, Optional<String> upgradeToken) {
        return open(transport, upgradeToken, () -> { });
    }

    /**
     * Opens a session for a new connection, with a hook run exactly once when the session has
     * ended, however it ended (peer close, our close, write failure, write timeout, a dropped
     * connection). The gateway releases per-connection resources there.
     *
     * @param transport    the connection
     * @param upgradeToken the bearer token of the upgrade request, if any
     * @param onEnded      run once at the end; must not block
     * @return the session
     */
    public Session open(Transport transport, Optional<String> upgradeToken, Runnable onEnded) {
        Session session = admitted(transport, onEnded);
        session.start(upgradeToken);
        return session;
    }

    /**
     * Opens a session for a connection whose request carried its authentication (an event
     * stream: its token was verified and the connect hook asked, once, when the request came),
     * subscribed at once to the channels it names.
     *
     * @param admitted who it is, and the channels the connect hook named
     * @param channels the channels it names, each from a position (resumed right after it) or from now
     * @param delta    the delta format it asks for ({@code fossil}), for every channel it is
     *                 subscribed to (those it names and the connect hook's), each answered with
     *                 {@code delta} as a {@code subscribe} that asked for it is
     * @param onEnded  run once at the end; must not block
     */
    public Session open(Transport transport, Hooks.Admitted admitted, Map<String, Optional<Position>> channels,
                        Optional<String> delta, Runnable onEnded) {
        Session session = admitted(transport, onEnded);
        session.start(admitted, new java.util.LinkedHashMap<>(channels), delta);
        return session;
    }

    /**
     * Counts a new connection and applies the node's limits, the same for every transport: a
     * draining node, a full node and a full address close it at once (with 1012, 4030, 4029).
     */
    private Session admitted(Transport transport, Runnable onEnded) {
        Session session = new Session(newId(), this, transport, onEnded);
        sessions.put(session.id(), session);
        telemetry.connectionOpened();
        if (!accepting) {
            session.close(CloseCode.SERVICE_RESTART, "node is draining; reconnect to another node");
        } else if (fleet.maxConnections() > 0 && sessions.size() > fleet.maxConnections()) {
            session.close(CloseCode.NODE_FULL, "this node has " + fleet.maxConnections()
                    + " connections; reconnect to another node");
        } else if (!perAddress.acquire(transport.remoteAddress(), fleet.maxConnectionsPerAddress())) {
            LOG.log(System.Logger.Level.INFO, "refusing connection from " + LogText.safe(transport.remoteAddress())
                    + ": per-address limit reached");
            session.close(CloseCode.CONNECTION_LIMIT, CloseCode.CONNECTION_LIMIT.reason());
        } else {
            session.addressCounted = true;
        }
        return session;
    }

    /** Open connections from an address on this node (tests, diagnostics). */
    public int connectionsFrom(String address) {
        return perAddress.count(address);
    }

    /**
     * A client frame an event stream sends apart from its stream (an HTTP POST), with its bearer
     * token and its bytes as they came: through its stream's session when that is open on this
     * node, else under the same limits per user ({@link Requests}). Never throws.
     *
     * @param session the stream's session id, when the request names it
     * @return the {@code reply} or {@code error} (with the request's id when it could be read)
     */
    public ServerFrame request(Optional<String> session, String token, byte[] utf8) {
        return requests.take(session.map(sessions::get).filter(s -> s.state() == Session.State.OPEN), token, utf8);
    }

    /**
     * Stops accepting connections, tells every client to reconnect elsewhere ({@code disconnect}
     * with {@code reconnect: true}, close 1012) after its queued frames, and waits for them to go.
     *
     * @return true when every connection was gone within {@code timeout}
     */
    public boolean drain(Duration timeout) {
        accepting = false;
        int n = sessions.size();
        LOG.log(System.Logger.Level.INFO, "draining " + n + " connection(s)");
        for (Session s : sessions.values()) {
            s.close(CloseCode.SERVICE_RESTART, "node restarting; reconnect");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!sessions.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        boolean clean = sessions.isEmpty();
        if (!clean) {
            LOG.log(System.Logger.Level.WARNING, sessions.size() + " connection(s) still open after drain of " + timeout);
        }
        return clean;
    }

    /** Whether new connections are accepted (false once draining). */
    public boolean accepting() {
        return accepting;
    }

    /** How many connections are open on this node. */
    public int sessionCount() {
        return sessions.size();
    }

    /** This node's id. */
    public String nodeId() {
        return nodeId;
    }

    /** The limits every connection runs under. */
    public SessionLimits limits() {
        return limits;
    }

    Operations operations() {
        return operations;
    }

    FleetLimits fleet() {
        return fleet;
    }

    /** Counts an authenticated connection of the tenant; false (nothing counted) when the tenant is at its limit. */
    boolean admitTenant(String tenant) {
        boolean admitted = perTenant.acquire(tenant, fleet.maxConnectionsPerTenant());
        if (admitted) {
            telemetry.tenantConnections(tenant, 1);
        }
        return admitted;
    }

    /** Releases what {@link #admitTenant} counted. */
    void releaseTenant(String tenant) {
        perTenant.release(tenant);
        telemetry.tenantConnections(tenant, -1);
    }

    /** Authenticated connections of the tenant on this node. */
    public int tenantConnections(String tenant) {
        return perTenant.count(tenant);
    }

    /**
     * Counts one message of the user and charges it to the user's budget on the node; the
     * refusal when over it.
     */
    Optional<ProtocolException> chargeUser(Principal who) {
        telemetry.tenantMessage(who.tenant());
        if (userRates.isPresent() && !userRates.get().tryAcquire(who, 1)) {
            return Optional.of(new ProtocolException(ErrorCode.RATE_LIMITED, "more than "
                    + fleet.userMessagesPerSecond() + " messages per second from user " + who.user()
                    + " on this node (all connections together); slow down"));
        }
        return Optional.empty();
    }

    /** The refusal of a message over a connection's (or a user's requests') message rate. */
    ProtocolException rateLimited() {
        return new ProtocolException(ErrorCode.RATE_LIMITED, "more than " + limits.messagesPerSecond()
                + " messages per second; slow down");
    }

    Dispatcher dispatcher() {
        return dispatcher;
    }



    /** A revocation or disconnect from any node: closes the matching connections here. */
    private void notice(Revocations.Notice notice) {
        CloseCode code = notice instanceof Revocations.UserDisconnected ? CloseCode.DISCONNECTED
                : CloseCode.TOKEN_REVOKED;
        String reason = code == CloseCode.DISCONNECTED ? "disconnected by the application" : "token revoked";
        int closed = 0;
        for (Session s : sessions.values()) {
            Optional<Principal> p = s.principal();
            if (p.isPresent() && Revocations.concerns(notice, p.get())) {
                s.close(code, reason);
                closed++;
            }
        }
        if (closed > 0) {
            int n = closed;
            LOG.log(System.Logger.Level.INFO, () -> "tenant " + notice.tenant() + ": closed " + n + " connection(s) "
                    + "with " + code.code() + " (" + reason + ")");
        }
    }

    FrameCodec codec() {
        return codec;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    java.util.function.Function<dev.tandem.hub.Publication, String> publicationEncoder() {
        return publicationEncoder;
    }

    Writers writers() {
        return writers;
    }

    Batching batching() {
        return batching;
    }

    /**
     * Backpressure for publishers: waits until the writers have reached the connections that
     * were waiting when called (at most {@value #PACE_MILLIS} ms), so a service that publishes
     * right after its publication was fanned out goes no faster than the sockets, instead of
     * piling frames into every connection's queue. Returns at once when nothing waits. The
     * publishing endpoint calls it after the publish answered: the operations layer below knows
     * nothing of writers.
     */
    public void awaitFanOut() {
        try {
            writers.awaitBacklog(java.time.Duration.ofMillis(PACE_MILLIS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The longest a publisher waits for the writers. */
    static final long PACE_MILLIS = 1000;

    void sessionEnded(Session session, int closeCode) {
        if (sessions.remove(session.id()) != null) {
            telemetry.connectionClosed(closeCode);
        }
        if (session.addressCounted) {
            perAddress.release(session.remoteAddress());
        }
    }

    /** Stops the sessions' timers. Call {@link #drain} first for a graceful stop. */
    @Override
    public void close() {
        writers.close();
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String newId() {
        byte[] b = new byte[9];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Builds an {@link Engine}. */
    public static final class Builder {
        private String nodeId = "node-" + newId().substring(0, 6);
        private FrameCodec codec = FrameCodec.create();
        private Operations operations;
        private SessionLimits limits = SessionLimits.DEFAULTS;
        private Telemetry telemetry = Telemetry.NOOP;
        private Clock clock = Clock.systemUTC();
        private FleetLimits fleet = FleetLimits.NONE;
        private int writers = Runtime.getRuntime().availableProcessors();
        private dev.tandem.channel.ChannelRules rules = dev.tandem.channel.ChannelRules.create();

        private Builder() {
        }

        /**
         * The channel rules, for the namespaces that batch their publications (default: the
         * built-in rules, none batching). The same rules the operations were given.
         */
        public Builder rules(dev.tandem.channel.ChannelRules rules) {
            this.rules = Objects.requireNonNull(rules);
            return this;
        }

        /**
         * How many writer threads write the node's sockets (default: one per core; each takes
         * its share of the connections in turn, see {@code Writers}).
         */
        public Builder writers(int writers) {
            if (writers < 1) {
                throw new IllegalArgumentException("writers must be at least 1");
            }
            this.writers = writers;
            return this;
        }

        /** The node-wide limits (default: {@link FleetLimits#NONE}). */
        public Builder fleet(FleetLimits fleet) {
            this.fleet = Objects.requireNonNull(fleet);
            return this;
        }

        /** The node id shown to clients and in logs. */
        public Builder nodeId(String nodeId) {
            this.nodeId = Objects.requireNonNull(nodeId);
            return this;
        }

        /** The codec (default: {@link FrameCodec#create()}). */
        public Builder codec(FrameCodec codec) {
            this.codec = Objects.requireNonNull(codec);
            return this;
        }

        /** The operations the sessions call. */
        public Builder operations(Operations operations) {
            this.operations = Objects.requireNonNull(operations);
            return this;
        }

        /** The connection limits (default: {@link SessionLimits#DEFAULTS}). */
        public Builder limits(SessionLimits limits) {
            this.limits = Objects.requireNonNull(limits);
            return this;
        }

        /** Where to report telemetry (default: nowhere). */
        public Builder telemetry(Telemetry telemetry) {
            this.telemetry = Objects.requireNonNull(telemetry);
            return this;
        }

        /** The clock (tests). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** The engine. */
        public Engine build() {
            Objects.requireNonNull(operations, "operations");
            return new Engine(this);
        }
    }
}
