package dev.tandem.session;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.operations.Subscriptions;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.LogText;

/**
 * One client connection, whatever its {@link Transport} (a WebSocket, an event stream): waiting
 * for authentication, open, closed. It turns frames into calls on the {@link Operations} layer
 * (through the one {@link Dispatcher}) and {@link Result}s back into {@code reply} and
 * {@code error} frames; it decides nothing an operation decides.
 *
 * <p>A WebSocket feeds it inbound text with {@link #receive(String)} from one thread at a time;
 * an event stream's POSTs reach it through {@link Engine#request}. Everything it sends goes
 * through the connection's bounded outbound queue and the node's writers ({@link Outbound}).
 * Every frame with an {@code id} gets exactly one {@code reply} or {@code error}, a rate-limited
 * one too. Bad input is answered with a stable error code and never changes state; floods
 * ({@link Admission}), oversize frames, slow reading, missed heartbeats, idleness and expired
 * tokens close the connection with a documented close code after a {@code disconnect}: the same
 * on every transport.
 */
public final class Session {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());
    /*
     * terminated and tenantCounted are volatile fields updated through VarHandles (an atomic
     * object each cost bytes per connection); same semantics as AtomicBoolean/AtomicReference.
     */
    private static final VarHandle TERMINATED;
    private static final VarHandle TENANT_COUNTED;
    /** The state's transitions are compare-and-sets (no lock per session). */
    private static final VarHandle STATE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TERMINATED = l.findVarHandle(Session.class, "terminated", boolean.class);
            TENANT_COUNTED = l.findVarHandle(Session.class, "tenantCounted", String.class);
            STATE = l.findVarHandle(Session.class, "state", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The states of a connection. */
    public enum State {
        /** Open socket, no principal yet: only {@code connect} is accepted. */
        AWAITING_AUTH,
        /** Authenticated. */
        OPEN,
        /** Closing or closed: nothing is accepted any more. */
        CLOSED
    }

    private final String id;
    private final Engine engine;
    private final Transport transport;
    private final Outbound out;
    /** Charged by the reading thread and, for an event stream, its POSTs: guarded by its own monitor. */
    private final Admission admission;
    /**
     * When the peer last sent something ({@link System#nanoTime}): it counts as alive while it
     * reads (pongs, messages); silent for longer than a heartbeat interval plus the heartbeat
     * timeout, it is gone. Its own pings do not count (a peer that pings without reading is not
     * alive).
     */
    private volatile long lastHeard;
    /** Set once, through {@link #TERMINATED}, when the session's resources are released. */
    private volatile boolean terminated;
    private final Runnable onEnded;
    private volatile State state = State.AWAITING_AUTH;
    private volatile Principal principal;
    private volatile Subscriptions subscriptions;
    /*
     * The session's timers are deadlines that the engine's one sweep ({@link #sweep}) checks,
     * not scheduled tasks: a scheduled task per timer cost ~270 bytes per connection.
     */
    /** When the next heartbeat is due ({@link System#nanoTime}). */
    private volatile long nextHeartbeat;
    /** When an unauthenticated connection is closed ({@link System#nanoTime}); unused once open. */
    private volatile long authDeadline;
    /** When the token in force expires, in epoch milliseconds; {@link Long#MAX_VALUE}: never. */
    private volatile long tokenExpiresAt = Long.MAX_VALUE;
    /** The tenant whose connection count this session holds, once authenticated (through {@link #TENANT_COUNTED}). */
    private volatile String tenantCounted;
    /** When the client last sent something other than a ping (idle timeout). */
    private volatile long lastActive = System.nanoTime();
    /** Whether this connection holds one of its address's places (the engine's, released when it ends). */
    volatile boolean addressCounted;

    Session(String id, Engine engine, Transport transport, Runnable onEnded) {
        this.id = id;
        this.engine = engine;
        this.transport = transport;
        this.onEnded = onEnded;
        this.out = new Outbound(id, transport, engine.limits(), engine.telemetry(), engine.publicationEncoder(),
                engine.writers().assign(), new Callbacks(), engine.batching());
        this.admission = new Admission(engine.limits(), System.nanoTime());
        long now = System.nanoTime();
        this.lastHeard = now;
        // the first heartbeat between half an interval and one interval after the connection
        // opened, at random: connections opened together (a reconnection storm after a restart)
        // do not all ping in the same sweep, then each keeps its phase. Never later than one
        // interval: liveness allows an interval plus the timeout of silence.
        long interval = engine.limits().heartbeatInterval().toNanos();
        this.nextHeartbeat = now + interval - java.util.concurrent.ThreadLocalRandom.current().nextLong(interval / 2 + 1);
        this.authDeadline = now + engine.limits().authTimeout().toNanos();
    }

    /** Starts a connection that authenticates with its upgrade's token, or else with a {@code connect} frame. */
    void start(Optional<String> upgradeToken) {
        if (upgradeToken.isPresent() && state != State.CLOSED) {
            new Opening(this).authenticate(upgradeToken.get(), 0);
        }
    }

    /**
     * Starts a connection its request authenticated (an event stream: the token came with the
     * request, and the connect hook was asked then), subscribed at once to the channels it named,
     * from the positions given, with the delta format it asked for.
     */
    void start(Hooks.Admitted admitted, Map<String, Optional<Position>> channels, Optional<String> delta) {
        if (state != State.CLOSED) {
            new Opening(this).open(admitted, 0, channels, delta);
        }
    }

    /**
     * Runs the timers that are due: the auth timeout, the token's expiry, idleness, the heartbeat
     * (closing a peer that answers pings but has been silent too long). Called by the engine's
     * sweep (one thread), every sweep period, for every session; so a timer fires at most one
     * period late.
     *
     * @param nowNanos  {@link System#nanoTime} at the sweep
     * @param nowMillis the engine clock's epoch milliseconds at the sweep
     */
    void sweep(long nowNanos, long nowMillis) {
        State s = state;
        if (s == State.CLOSED) {
            return;
        }
        if (s == State.AWAITING_AUTH && nowNanos - authDeadline >= 0) {
            close(CloseCode.AUTH_TIMEOUT, "no connect frame within " + engine.limits().authTimeout().toSeconds() + "s");
            return;
        }
        if (s == State.OPEN && nowMillis >= tokenExpiresAt) {
            close(CloseCode.TOKEN_EXPIRED, "token expired; reconnect with a fresh token");
            return;
        }
        long idle = engine.fleet().idleTimeout().toNanos();
        if (idle > 0 && s == State.OPEN && subscriptionCount() == 0 && nowNanos - lastActive > idle) {
            close(CloseCode.IDLE, "subscribed to nothing and silent for " + engine.fleet().idleTimeout().toSeconds()
                    + " s");
            return;
        }
        long due = nextHeartbeat;
        if (nowNanos - due < 0) {
            return;
        }
        SessionLimits l = engine.limits();
        long interval = l.heartbeatInterval().toNanos();
        long next = due + interval;
        // fixed rate, keeping the connection's phase; after a stall, one ping, not a burst
        nextHeartbeat = nowNanos - next >= 0 ? nowNanos + interval : next;
        long silent = nowNanos - lastHeard;
        if (transport.answersPings() && silent > interval + l.heartbeatTimeout().toNanos()) {
            close(CloseCode.HEARTBEAT_TIMEOUT, "no pong or message for " + TimeUnit.NANOSECONDS.toMillis(silent) + " ms");
            return;
        }
        out.ping();
        Subscriptions subs = subscriptions;
        if (subs != null) {
            subs.heartbeat();
        }
    }

    /** This connection's session id. */
    public String id() {
        return id;
    }

    /** The current state. */
    public State state() {
        return state;
    }

    /** The authenticated principal, once there is one. */
    public Optional<Principal> principal() {
        return Optional.ofNullable(principal);
    }

    String remoteAddress() {
        return transport.remoteAddress();
    }

    /** Socket writes to the connection so far (frames laid end to end in one write count once). */
    long outboundWrites() {
        return out.writes();
    }

    /** Whether no writer is in a turn on the connection (a frame queued now waits for its batch). */
    boolean outboundAtRest() {
        return out.atRest();
    }

    /** How many channels the connection is subscribed to. */
    public int subscriptionCount() {
        Subscriptions s = subscriptions;
        return s == null ? 0 : s.count();
    }

    // ------------------------------------------------------------------ inbound

    /**
     * Handles one inbound text message of a WebSocket (fragments already joined). Never throws:
     * every problem becomes an {@code error} frame or a close.
     */
    public void receive(String text) {
        if (state == State.CLOSED) {
            return;
        }
        lastHeard = System.nanoTime();
        int max = engine.limits().maxFrameBytes();
        if (Wire.oversize(text, max)) {
            tooLarge();
            return;
        }
        if (!admit(() -> engine.codec().peekId(text))) {
            return;
        }
        Principal who = principal;
        if (who != null) {
            Optional<ProtocolException> over = engine.chargeUser(who);
            if (over.isPresent()) {
                sendError(over.get().withRequestId(engine.codec().peekId(text)));
                return;
            }
        }
        ClientFrame frame;
        try {
            frame = engine.codec().decodeClient(text);
        } catch (ProtocolException e) {
            // a frame whose id can be read gets its error with that id, however broken the rest
            sendError(e.requestId() > 0 ? e : e.withRequestId(engine.codec().peekId(text)));
            return;
        }
        engine.telemetry().frameIn(frame.op());
        if (state == State.AWAITING_AUTH && !(frame instanceof ClientFrame.Connect)) {
            sendError(new ProtocolException(ErrorCode.UNAUTHORIZED, frame.id(), "authenticate first with a connect frame"));
            return;
        }
        active(frame);
        long requestId = frame.id();
        engine.dispatcher().run(who, frame, this, this::ephemeral, result -> answer(requestId, result));
    }

    /** Charges a request (a POST) against the connection's rate; false when refused (a flood closes it). */
    boolean admitRequest() {
        Admission.Verdict v = charge();
        if (v == Admission.Verdict.CLOSE) {
            flooded();
        }
        return v == Admission.Verdict.ADMIT;
    }

    private Admission.Verdict charge() {
        synchronized (admission) {
            return admission.admit(System.nanoTime());
        }
    }

    private void flooded() {
        close(CloseCode.FLOOD, "kept flooding after rate_limited");
    }

    /** Notes a frame other than a ping as activity (the idle timeout). */
    void active(ClientFrame frame) {
        if (!(frame instanceof ClientFrame.Ping)) {
            lastActive = System.nanoTime();
        }
    }

    /** Charges a typing or cursor signal; false when over {@code ephemeral-per-second}. */
    boolean ephemeral() {
        synchronized (admission) {
            return admission.ephemeral(System.nanoTime());
        }
    }

    /**
     * Charges one inbound message against the rate limit. A refused message with an id always
     * gets its {@code rate_limited} error; one without an id only when it starts a run of refusals
     * (one error per run, not per message, which would amplify a flood); a flood that goes on
     * closes with 4008.
     */
    private boolean admit(java.util.function.LongSupplier requestId) {
        Admission.Verdict v = charge();
        if (v == Admission.Verdict.ADMIT) {
            return true;
        }
        long rid = requestId.getAsLong();
        if (rid > 0 || v == Admission.Verdict.REFUSE_FIRST) {
            sendError(engine.rateLimited().withRequestId(rid));
        }
        if (v == Admission.Verdict.CLOSE) {
            flooded();
        }
        return false;
    }

    /**
     * Refuses an inbound message the transport found unusable (a binary frame, text that was not
     * UTF-8), counting it against the rate limit like any other message and answering with the
     * message's {@code id} when it has one, else 0 (every frame with an id gets exactly one answer).
     */
    public void refuse(ErrorCode code, String message, long requestId) {
        if (state == State.CLOSED) {
            return;
        }
        lastHeard = System.nanoTime();
        if (admit(() -> requestId)) {
            sendError(new ProtocolException(code, requestId, message));
        }
    }

    /** The peer answered a ping (or sent anything at all). */
    public void heard() {
        lastHeard = System.nanoTime();
    }

    /**
     * The peer pinged: answers through the writer, so the pong never interleaves with a frame.
     * Pings count against the rate limit, and at most one pong waits in the queue (RFC 6455
     * allows answering only the latest), so a peer that pings without reading cannot grow it.
     * A ping does not count as liveness: only reading (pongs, messages) does.
     */
    public void pinged(byte[] payload) {
        if (state != State.CLOSED && admit(() -> 0)) {
            out.pong(payload);
        }
    }

    /** An inbound message exceeded the frame size limit: closes with 1009. */
    public void tooLarge() {
        engine.telemetry().error(ErrorCode.TOO_LARGE);
        close(CloseCode.TOO_LARGE, Wire.tooLarge(engine.limits().maxFrameBytes()));
    }

    /** A {@code connect} frame: the first authentication of a socket that brought no token. */
    void connect(ClientFrame.Connect c) {
        if (state != State.AWAITING_AUTH) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "already authenticated; use refresh");
        }
        new Opening(this).authenticate(c.token(), c.id());
    }

    /** The connection's subscriptions (open connections only). */
    Subscriptions subscriptions() {
        return subscriptions;
    }

    // ------------------------------------------------------------------ authentication (see Opening)

    /** The client has sent its token: from here the node is the one waiting, never with an auth timeout. */
    void tokenReceived() {
        authDeadline = System.nanoTime() + Long.MAX_VALUE / 2;
    }

    /**
     * Holds one of the tenant's connection places for this session; false when the session ended
     * meanwhile (terminate may have run before the count existed), the place then given back.
     */
    boolean holdTenant(String tenant) {
        tenantCounted = tenant;
        if (terminated) {
            releaseTenant();
            return false;
        }
        return true;
    }

    /**
     * Turns OPEN with the principal and its subscriptions; false when a close came first (the
     * subscriptions are then closed: that close did not see them).
     */
    boolean opened(Principal p, Subscriptions subs) {
        lastActive = System.nanoTime();
        // the expiry is in force before the state says OPEN, so the sweep never sees an open
        // session without it
        tokenExpiresAt = p.expiresAtMillis();
        // published before the state turns OPEN, so whoever sees OPEN sees them; when a close
        // came first the session is CLOSED and nothing reads them for anything but describing it
        principal = p;
        subscriptions = subs;
        if (!STATE.compareAndSet(this, State.AWAITING_AUTH, State.OPEN)) {
            subs.close();
            return false;
        }
        return true;
    }

    /** The same user's refreshed principal takes over, with its expiry; subscriptions it no longer allows end. */
    void refreshed(Principal next) {
        principal = next;
        tokenExpiresAt = next.expiresAtMillis();
        subscriptions.refresh(next);
    }

    /** A {@code refresh}: the same user's new token takes over (and its expiry). */
    Result refresh(ClientFrame.Refresh r) {
        return new Opening(this).refresh(r);
    }

    /** Refuses an authentication: the error, then the close. */
    void refuseAuth(ProtocolException e, CloseCode code) {
        sendError(e);
        close(code, String.valueOf(e.getMessage()));
    }

    Engine engine() {
        return engine;
    }

    Transport transport() {
        return transport;
    }

    Outbound out() {
        return out;
    }

    // ------------------------------------------------------------------ outbound

    /** A frame's answer: a reply (when it has an id) or an error (the layer counted it already). */
    private void answer(long requestId, Result result) {
        switch (result) {
            case Result.Ok ok -> reply(requestId, ok.body());
            case Result.Failed f -> enqueue(new ServerFrame.Error(requestId, f.code(), f.message()));
        }
    }

    void reply(long requestId, ObjectNode body) {
        if (requestId > 0) {
            enqueue(new ServerFrame.Reply(requestId, body));
        }
    }

    void sendError(ProtocolException e) {
        engine.telemetry().error(e.code());
        enqueue(ServerFrame.Error.of(e));
    }

    void enqueue(ServerFrame frame) {
        offer(Frame.of(engine.codec().encode(frame).getBytes(java.nio.charset.StandardCharsets.UTF_8), frame.op()));
    }

    void offer(Frame frame) {
        if (!out.offer(frame)) {
            overflowed();
        }
    }

    /** The outbound queue is full: closes as a slow consumer. */
    private void overflowed() {
        if (state != State.CLOSED) {
            engine.telemetry().slowConsumerClosed();
            close(CloseCode.SLOW_CONSUMER, "outbound queue full: read faster or subscribe to less");
        }
    }

    /** What the connection's queue and writer tell it ({@link Outbound.Owner}); kept out of the session's API. */
    private final class Callbacks implements Outbound.Owner {
        @Override
        public void writerFinished(int closeCode) {
            toClosed();
            terminate(closeCode);
        }

        @Override
        public void overflowed() {
            Session.this.overflowed();
        }

        @Override
        public void notice(Result.Failed notice) {
            sendError(notice.toException(0));
        }
    }

    // ------------------------------------------------------------------ closing

    /**
     * Closes the connection: queued frames are still written (unless it is a slow consumer),
     * then a {@code disconnect} frame and the close frame.
     */
    public void close(CloseCode code, String reason) {
        if (!toClosed()) {
            return;
        }
        String shortReason = Wire.closeReason(reason);
        LOG.log(System.Logger.Level.DEBUG, () -> "session " + id + " (" + describe() + ") closing: " + code + " "
                + LogText.safe(reason));
        String frame = engine.codec().encode(new ServerFrame.Disconnect(code.code(), shortReason, code.reconnect()));
        boolean discard = code == CloseCode.SLOW_CONSUMER;
        if (out.close(code.code(), shortReason, Optional.of(frame), discard)) {
            // a writer stuck on a dead peer must not keep the connection forever
            engine.scheduler().schedule(() -> {
                if (!out.finished()) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "session " + id + ": close not written within "
                            + engine.limits().writeTimeout() + ", dropping the connection");
                    terminate(code.code()); // counted with the code it was closed for
                    out.stop();
                }
            }, engine.limits().writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
        releaseSubscriptions();
    }

    /**
     * The transport is gone (peer closed, socket error, connection dropped without a close
     * frame): releases everything at once.
     *
     * @param closeCode the close code: the peer's, or 1006 when it went without one
     */
    public void transportClosed(int closeCode) {
        toClosed();
        // the end is counted with the peer's code before the writer stops (which would report none)
        terminate(closeCode);
        out.stop();
    }

    /** Moves to CLOSED; true when this call did (exactly one caller wins). */
    private boolean toClosed() {
        for (State s = state; s != State.CLOSED; s = state) {
            if (STATE.compareAndSet(this, s, State.CLOSED)) {
                return true;
            }
        }
        return false;
    }

    private void releaseSubscriptions() {
        Subscriptions s = subscriptions;
        if (s != null) {
            s.close();
        }
    }

    private void terminate(int closeCode) {
        if (!TERMINATED.compareAndSet(this, false, true)) {
            return;
        }
        releaseSubscriptions();
        releaseTenant();
        engine.sessionEnded(this, closeCode);
        try {
            onEnded.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "session " + id + ": end hook failed", e);
        }
    }

    private void releaseTenant() {
        String tenant = (String) TENANT_COUNTED.getAndSet(this, (String) null);
        if (tenant != null) {
            engine.releaseTenant(tenant);
        }
    }

    String describe() {
        Principal p = principal;
        return p == null ? "unauthenticated, " + transport.remoteAddress()
                : "tenant=" + p.tenant() + " user=" + p.user() + ", " + transport.remoteAddress();
    }
}
