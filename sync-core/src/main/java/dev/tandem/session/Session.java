package dev.tandem.session;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.operations.Delivery;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.operations.Subscriptions;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.LogText;

/**
 * One WebSocket connection's protocol: waiting for authentication, open, closed. It turns
 * frames into calls on the {@link Operations} layer and {@link Result}s back into {@code reply}
 * and {@code error} frames; it decides nothing an operation decides.
 *
 * <p>The transport feeds it inbound text with {@link #receive(String)} from one thread at a
 * time; everything it sends goes through the connection's bounded outbound queue and single
 * writer ({@link Outbound}). Every frame with an {@code id} gets exactly one {@code reply} or
 * {@code error}, a rate-limited one too. Bad input is answered with a stable error code and never
 * changes state; floods ({@link Admission}), oversize frames, slow reading, missed heartbeats and
 * expired tokens close the connection with a documented close code after a {@code disconnect}.
 *
 * <p>It is itself its subscriptions' {@link Delivery} and its writer's {@code Outbound.Done}
 * (callback objects per connection cost memory at tens of thousands of connections); those
 * methods are for them, not for a transport.
 */
public final class Session implements Delivery, Outbound.Done {
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
    private final Operations ops;
    private final Transport transport;
    private final Outbound out;
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

    Session(String id, Engine engine, Transport transport, Runnable onEnded) {
        this.id = id;
        this.engine = engine;
        this.ops = engine.operations();
        this.transport = transport;
        this.onEnded = onEnded;
        this.out = new Outbound(id, transport, engine.limits(), engine.telemetry(), engine.publicationEncoder(),
                engine.writers().assign(), this);
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

    void start(Optional<String> upgradeToken) {
        if (upgradeToken.isPresent()) {
            authenticate(upgradeToken.get(), 0);
        }
    }

    /**
     * Runs the timers that are due: the auth timeout, the token's expiry, the heartbeat. Called
     * by the engine's sweep (one thread), every sweep period, for every session; so a timer
     * fires at most one period late.
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
        long due = nextHeartbeat;
        if (nowNanos - due >= 0) {
            long interval = engine.limits().heartbeatInterval().toNanos();
            long next = due + interval;
            // fixed rate, keeping the connection's phase; after a stall, one ping, not a burst
            nextHeartbeat = nowNanos - next >= 0 ? nowNanos + interval : next;
            heartbeat();
        }
    }

    /** Epoch milliseconds of an expiry, saturated (tokens may name times beyond a long's milliseconds). */
    private static long expiryMillis(Optional<Instant> expiresAt) {
        if (expiresAt.isEmpty()) {
            return Long.MAX_VALUE;
        }
        try {
            return expiresAt.get().toEpochMilli();
        } catch (ArithmeticException e) {
            return expiresAt.get().isBefore(Instant.EPOCH) ? Long.MIN_VALUE : Long.MAX_VALUE;
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

    /** How many channels the connection is subscribed to. */
    public int subscriptionCount() {
        Subscriptions s = subscriptions;
        return s == null ? 0 : s.count();
    }

    // ------------------------------------------------------------------ inbound

    /**
     * Handles one inbound text message (fragments already joined). Never throws: every
     * problem becomes an {@code error} frame or a close.
     */
    public void receive(String text) {
        if (state == State.CLOSED) {
            return;
        }
        lastHeard = System.nanoTime();
        int max = engine.limits().maxFrameBytes();
        if ((long) text.length() * 3 > max && (text.length() > max || utf8Length(text) > max)) {
            tooLarge();
            return;
        }
        if (!admit(() -> engine.codec().peekId(text))) {
            return;
        }
        Principal who = principal;
        if (who != null) {
            engine.telemetry().tenantMessage(who.tenant());
            if (!engine.chargeUser(who)) {
                long rid = engine.codec().peekId(text);
                sendError(new ProtocolException(ErrorCode.RATE_LIMITED, rid, "more than "
                        + engine.fleet().userMessagesPerSecond() + " messages per second from user " + who.user()
                        + " on this node (all connections together); slow down"));
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
        try {
            handle(frame);
        } catch (ProtocolException e) {
            sendError(e.withRequestId(frame.id()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "session " + id + " (" + describe() + "): " + frame.op() + " failed",
                    LogText.scrub(e));
            sendError(new ProtocolException(ErrorCode.INTERNAL, frame.id(), "internal error; see server log for session "
                    + id));
        }
    }

    /**
     * Charges one inbound message against the rate limit. A refused message with an id always
     * gets its {@code rate_limited} error; one without an id only when it starts a run of refusals
     * (one error per run, not per message, which would amplify a flood); a flood that goes on
     * closes with 4008.
     */
    private boolean admit(java.util.function.LongSupplier requestId) {
        Admission.Verdict v = admission.admit(System.nanoTime());
        if (v == Admission.Verdict.ADMIT) {
            return true;
        }
        long rid = requestId.getAsLong();
        if (rid > 0 || v == Admission.Verdict.REFUSE_FIRST) {
            sendError(new ProtocolException(ErrorCode.RATE_LIMITED, rid, "more than "
                    + engine.limits().messagesPerSecond() + " messages per second; slow down"));
        }
        if (v == Admission.Verdict.CLOSE) {
            close(CloseCode.FLOOD, "kept flooding after rate_limited");
        }
        return false;
    }

    /**
     * Refuses an inbound message the transport could not turn into text (e.g. a binary frame),
     * counting it against the rate limit like any other message.
     */
    public void refuse(ErrorCode code, String message) {
        refuse(code, message, 0);
    }

    /**
     * Refuses an inbound message the transport found unusable, answering with the message's
     * {@code id} when it has one (every frame with an id gets exactly one answer).
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
        close(CloseCode.TOO_LARGE, "message larger than " + engine.limits().maxFrameBytes() + " bytes");
    }

    private void handle(ClientFrame frame) {
        if (state == State.AWAITING_AUTH && !(frame instanceof ClientFrame.Connect)) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "authenticate first with a connect frame");
        }
        Principal who = principal;
        if (!(frame instanceof ClientFrame.Ping)) {
            lastActive = System.nanoTime();
        }
        switch (frame) {
            case ClientFrame.Connect c -> {
                if (state != State.AWAITING_AUTH) {
                    throw new ProtocolException(ErrorCode.BAD_REQUEST, "already authenticated; use refresh");
                }
                authenticate(c.token(), c.id());
            }
            case ClientFrame.Refresh r -> refresh(r);
            case ClientFrame.Subscribe s -> subscriptions.subscribe(s, result -> answer(s.id(), result));
            case ClientFrame.Unsubscribe u -> answer(u.id(), subscriptions.unsubscribe(u.channel()));
            case ClientFrame.Publish p -> {
                if (p.ephemeral() && !admission.ephemeral(System.nanoTime())) {
                    throw new ProtocolException(ErrorCode.RATE_LIMITED, "more than "
                            + engine.limits().ephemeralPerSecond() + " typing/cursor signals per second");
                }
                answer(p.id(), ops.publish(who, p));
            }
            case ClientFrame.Ping p -> answer(p.id(), ops.ping());
            case ClientFrame.Presence p -> answer(p.id(), subscriptions.presence(p));
            case ClientFrame.Ack a -> answer(a.id(), ops.ack(who, a));
            case ClientFrame.DocGet g -> answer(g.id(), ops.getDocument(who, g.docType(), g.docId()));
            case ClientFrame.DocQuery q -> answer(q.id(), ops.queryDocuments(who, q));
            case ClientFrame.DocUpdate u -> answer(u.id(), ops.updateDocument(who, u));
            case ClientFrame.Sync s -> answer(s.id(), ops.sync(who, s.ops()));
            case ClientFrame.ConflictResolve r -> answer(r.id(), ops.resolveConflict(who, r.conflictId(),
                    r.resolution(), r.data()));
        }
    }

    // ------------------------------------------------------------------ authentication

    /**
     * Authenticates with a token, or refuses: an expired token closes with 4003 (fetch a new
     * one and come back), any other refusal with 4001. Nothing of the session changes before
     * everything about the token checked out.
     */
    private void authenticate(String token, long requestId) {
        Principal p;
        Hooks.Admitted admitted;
        try {
            admitted = ops.authenticate(token);
            p = admitted.principal();
        } catch (TokenExpiredException e) {
            refuseAuth(e.withRequestId(requestId), CloseCode.TOKEN_EXPIRED);
            return;
        } catch (TokenRevokedException e) {
            refuseAuth(e.withRequestId(requestId), CloseCode.TOKEN_REVOKED);
            return;
        } catch (ProtocolException e) {
            // a backend that cannot be asked is not the client's fault: it may come back
            refuseAuth(e.withRequestId(requestId), e.code() == ErrorCode.UNAVAILABLE ? CloseCode.INTERNAL
                    : CloseCode.UNAUTHORIZED);
            return;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "session " + id + ": token verification failed", LogText.scrub(e));
            refuseAuth(new ProtocolException(ErrorCode.UNAUTHORIZED, requestId, "token could not be verified"),
                    CloseCode.UNAUTHORIZED);
            return;
        }
        if (!engine.admitTenant(p.tenant())) {
            refuseAuth(new ProtocolException(ErrorCode.LIMIT_EXCEEDED, requestId, "tenant " + p.tenant() + " has "
                    + engine.fleet().maxConnectionsPerTenant() + " connections on this node"), CloseCode.TENANT_LIMIT);
            return;
        }
        tenantCounted = p.tenant();
        if (terminated) {
            releaseTenant(); // ended meanwhile: terminate may have run before the count existed
            return;
        }
        Subscriptions subs = ops.subscriptions(id, p, this, engine.limits().maxSubscriptions());
        lastActive = System.nanoTime();
        // the expiry is in force before the state says OPEN, so the sweep never sees an open
        // session without it
        tokenExpiresAt = expiryMillis(p.expiresAt());
        // published before the state turns OPEN, so whoever sees OPEN sees them; when a close
        // came first the session is CLOSED and nothing reads them for anything but describing it
        principal = p;
        subscriptions = subs;
        if (!STATE.compareAndSet(this, State.AWAITING_AUTH, State.OPEN)) {
            subs.close(); // the close before this did not see them (it holds nothing yet)
            return;
        }
        SessionLimits l = engine.limits();
        enqueue(new ServerFrame.Welcome(id, engine.nodeId(), p.user(), p.tenant(), l.heartbeatInterval().toMillis(),
                p.expiresAt(), new ServerFrame.Limits(l.maxFrameBytes(), l.messagesPerSecond(), l.burst(),
                l.maxSubscriptions())));
        if (requestId > 0) {
            reply(requestId, engine.codec().object().put("session", id));
        }
        // channels the backend's connect hook named: subscribed as if the client had asked
        // (without an id: a refusal arrives as an error notice)
        for (String channel : admitted.channels()) {
            subs.subscribe(new ClientFrame.Subscribe(0, channel, Optional.empty(), false, false), result -> {
                if (result instanceof Result.Failed f) {
                    sendError(new ProtocolException(f.code(), "server-side subscription to " + channel + ": "
                            + f.message()));
                }
            });
        }
        LOG.log(System.Logger.Level.DEBUG, () -> "session " + id + " authenticated: " + describe());
    }

    private void refuseAuth(ProtocolException e, CloseCode code) {
        sendError(e);
        close(code, String.valueOf(e.getMessage()));
    }

    private void refresh(ClientFrame.Refresh r) {
        Principal next;
        try {
            next = ops.authenticate(r.token()).principal();
        } catch (TokenExpiredException e) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, r.id(), "token expired");
        }
        Principal current = principal;
        if (!next.tenant().equals(current.tenant()) || !next.user().equals(current.user())) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "a refreshed token must be for the same user and tenant");
        }
        principal = next;
        tokenExpiresAt = expiryMillis(next.expiresAt());
        // the new token may grant less (fewer locations, roles): drop what it no longer allows
        subscriptions.refresh(next);
        ObjectNode body = engine.codec().object();
        next.expiresAt().ifPresent(t -> body.put("expiresAt", t.toString()));
        reply(r.id(), body);
    }

    // ------------------------------------------------------------------ outbound

    private void answer(long requestId, Result result) {
        switch (result) {
            case Result.Ok ok -> reply(requestId, ok.body());
            case Result.Failed f -> {
                // the layer counted it in telemetry already
                enqueue(new ServerFrame.Error(requestId, f.code(), f.message()));
            }
        }
    }

    private void reply(long requestId, ObjectNode body) {
        if (requestId > 0) {
            enqueue(new ServerFrame.Reply(requestId, body));
        }
    }

    private void sendError(ProtocolException e) {
        engine.telemetry().error(e.code());
        enqueue(ServerFrame.Error.of(e));
    }

    private void enqueue(ServerFrame frame) {
        if (!out.offer(engine.codec().encode(frame), frame.op(), 0)) {
            overflowed();
        }
    }

    /**
     * The outbound queue is full: closes as a slow consumer. For the connection's subscriptions
     * ({@link Delivery}).
     */
    @Override
    public void overflowed() {
        if (state != State.CLOSED) {
            engine.telemetry().slowConsumerClosed();
            close(CloseCode.SLOW_CONSUMER, "outbound queue full: read faster or subscribe to less");
        }
    }

    /** Queues a live publication. For the connection's subscriptions ({@link Delivery}). */
    @Override
    public boolean live(Publication publication, Encoded frame) {
        return out.offer(frame.utf8(), "event", publication.acceptedNanos());
    }

    /** Queues a replayed publication. For the connection's subscriptions ({@link Delivery}). */
    @Override
    public boolean replay(Publication publication) {
        return out.offerUnencoded(publication);
    }

    /** Sends an error notice. For the connection's subscriptions ({@link Delivery}). */
    @Override
    public void notice(Result.Failed notice) {
        sendError(notice.toException(0));
    }

    // ------------------------------------------------------------------ liveness

    private void heartbeat() {
        if (state == State.CLOSED) {
            return;
        }
        long now = System.nanoTime();
        long idle = engine.fleet().idleTimeout().toNanos();
        long silent = now - lastHeard;
        SessionLimits l = engine.limits();
        if (silent > l.heartbeatInterval().toNanos() + l.heartbeatTimeout().toNanos()) {
            close(CloseCode.HEARTBEAT_TIMEOUT, "no pong or message for " + TimeUnit.NANOSECONDS.toMillis(silent) + " ms");
        } else if (idle > 0 && state == State.OPEN && subscriptionCount() == 0 && now - lastActive > idle) {
            close(CloseCode.IDLE, "subscribed to nothing and silent for " + engine.fleet().idleTimeout().toSeconds()
                    + " s");
        } else {
            out.ping();
            Subscriptions s = subscriptions;
            if (s != null) {
                s.heartbeat();
            }
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
        String shortReason = truncateReason(reason);
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
                    out.stop();
                    terminate(code.code());
                }
            }, engine.limits().writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
        releaseSubscriptions();
    }

    /**
     * The transport is gone (peer closed, socket error, connection dropped without a close
     * frame): releases everything at once.
     *
     * @param closeCode the close code when known, else 0
     */
    public void transportClosed(int closeCode) {
        markClosed();
        out.stop();
        terminate(closeCode);
    }

    /** The writer is done (close written, or the socket failed). For the connection's {@code Outbound}. */
    @Override
    public void writerFinished(int closeCode) {
        markClosed();
        terminate(closeCode);
    }

    private void markClosed() {
        toClosed();
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

    private String describe() {
        Principal p = principal;
        return p == null ? "unauthenticated, " + transport.remoteAddress()
                : "tenant=" + p.tenant() + " user=" + p.user() + ", " + transport.remoteAddress();
    }

    private static int utf8Length(String s) {
        int n = s.length();
        int bytes = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    static String truncateReason(String reason) {
        byte[] b = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (b.length <= 120) {
            return reason;
        }
        StringBuilder sb = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < reason.length(); i++) {
            int cb = String.valueOf(reason.charAt(i)).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            if (bytes + cb > 117) {
                break;
            }
            sb.append(reason.charAt(i));
            bytes += cb;
        }
        return sb.append("...").toString();
    }
}
