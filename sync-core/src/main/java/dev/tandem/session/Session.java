package dev.tandem.session;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.Documents;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.inbox.AckResult;
import dev.tandem.inbox.Inbox;
import dev.tandem.presence.Member;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;

/**
 * One client connection's protocol state machine: waiting for authentication, open, closed.
 *
 * <p>The transport feeds it inbound text with {@link #receive(String)} from one thread at a
 * time; everything it sends goes through the connection's bounded outbound queue and single
 * writer. Every frame with an {@code id} gets exactly one {@code reply} or {@code error}. Bad
 * input is answered with a stable error code and never changes state; floods, oversize frames,
 * slow reading, missed heartbeats and expired tokens close the connection with a documented
 * close code after a {@code disconnect} frame.
 */
public final class Session {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

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
    private final TokenBucket bucket;
    private final TokenBucket ephemeralBucket;
    private final java.util.Set<ChannelKey> presenceJoined = ConcurrentHashMap.newKeySet();
    private final ReentrantLock presenceLock = new ReentrantLock();
    private java.util.concurrent.CompletableFuture<Void> presenceOps =
            java.util.concurrent.CompletableFuture.completedFuture(null);
    private final Map<ChannelKey, SessionSubscriber> subscriptions = new ConcurrentHashMap<>();
    private final ReentrantLock stateLock = new ReentrantLock();
    private final AtomicBoolean terminated = new AtomicBoolean();
    private final Runnable onEnded;
    private volatile State state = State.AWAITING_AUTH;
    private volatile Principal principal;
    private volatile long lastHeardNanos = System.nanoTime();
    private int strikes;
    private volatile ScheduledFuture<?> authTimer;
    private volatile ScheduledFuture<?> expiryTimer;
    private volatile ScheduledFuture<?> heartbeat;

    Session(String id, Engine engine, Transport transport, Runnable onEnded) {
        this.id = id;
        this.engine = engine;
        this.transport = transport;
        this.onEnded = onEnded;
        this.out = new Outbound(id, transport, engine.limits(), engine.telemetry(), engine.hub()::encode,
                this::writerFinished);
        this.bucket = new TokenBucket(engine.limits().messagesPerSecond(), engine.limits().burst(), System.nanoTime());
        this.ephemeralBucket = new TokenBucket(engine.limits().ephemeralPerSecond(), engine.limits().ephemeralPerSecond(),
                System.nanoTime());
    }

    void start(Optional<String> upgradeToken) {
        out.start();
        SessionLimits limits = engine.limits();
        long hb = limits.heartbeatInterval().toMillis();
        heartbeat = engine.scheduler().scheduleAtFixedRate(this::heartbeat, hb, hb, TimeUnit.MILLISECONDS);
        if (upgradeToken.isPresent()) {
            try {
                authenticate(upgradeToken.get(), 0);
            } catch (ProtocolException e) {
                refuseAuth(e);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "session " + id + ": token verification failed: " + e);
                refuseAuth(new ProtocolException(ErrorCode.UNAUTHORIZED, "token could not be verified"));
            }
        } else {
            authTimer = engine.scheduler().schedule(() -> {
                if (state == State.AWAITING_AUTH) {
                    close(CloseCode.AUTH_TIMEOUT, "no connect frame within " + limits.authTimeout().toSeconds() + "s");
                }
            }, limits.authTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
        if (terminated.get()) {
            // ended before its timers existed (refused while the node drains): terminate could
            // not cancel them, and the heartbeat would run for ever
            heartbeat.cancel(false);
            if (authTimer != null) {
                authTimer.cancel(false);
            }
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
        return subscriptions.size();
    }

    /**
     * Handles one inbound text message (fragments already joined). Never throws: every
     * problem becomes an {@code error} frame or a close.
     */
    public void receive(String text) {
        if (state == State.CLOSED) {
            return;
        }
        lastHeardNanos = System.nanoTime();
        int max = engine.limits().maxFrameBytes();
        if ((long) text.length() * 3 > max && (text.length() > max || utf8Length(text) > max)) {
            tooLarge();
            return;
        }
        if (!admit()) {
            return;
        }
        ClientFrame frame;
        try {
            frame = engine.codec().decodeClient(text);
        } catch (ProtocolException e) {
            sendError(e);
            return;
        }
        engine.telemetry().frameIn(frame.op());
        try {
            handle(frame);
        } catch (ProtocolException e) {
            sendError(e.withRequestId(frame.id()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "session " + id + " (" + describe() + "): " + frame.op() + " failed", e);
            sendError(new ProtocolException(ErrorCode.INTERNAL, frame.id(), "internal error; see server log for session " + id));
        }
    }

    /**
     * Charges one inbound message (or control frame) against the token bucket. Refused ones
     * count as strikes: the first gets one {@code rate_limited} error (not one per message,
     * which would amplify a flood), and {@code flood-strikes} in a row close with 4008.
     */
    private boolean admit() {
        if (bucket.tryAcquire(System.nanoTime())) {
            strikes = 0;
            return true;
        }
        strikes++;
        if (strikes == 1) {
            sendError(new ProtocolException(ErrorCode.RATE_LIMITED, "more than "
                    + engine.limits().messagesPerSecond() + " messages per second; slow down"));
        }
        if (strikes >= engine.limits().floodStrikes()) {
            close(CloseCode.FLOOD, "kept flooding after rate_limited");
        }
        return false;
    }

    /**
     * Refuses an inbound message the transport could not turn into text (e.g. a binary frame),
     * counting it against the rate limit like any other message.
     */
    public void refuse(ErrorCode code, String message) {
        if (state == State.CLOSED) {
            return;
        }
        lastHeardNanos = System.nanoTime();
        if (admit()) {
            sendError(new ProtocolException(code, message));
        }
    }

    /** The peer answered a ping (or sent anything at all). */
    public void heard() {
        lastHeardNanos = System.nanoTime();
    }

    /**
     * The peer pinged: answers through the writer, so the pong never interleaves with a frame.
     * Pings count against the rate limit, and at most one pong waits in the queue (RFC 6455
     * allows answering only the latest), so a peer that pings without reading cannot grow it.
     * A ping does not count as liveness: only reading (pongs, messages) does.
     */
    public void pinged(byte[] payload) {
        if (state != State.CLOSED && admit()) {
            out.pong(payload);
        }
    }

    /** An inbound message exceeded the frame size limit: closes with 1009. */
    public void tooLarge() {
        engine.telemetry().error(ErrorCode.TOO_LARGE);
        close(CloseCode.TOO_LARGE, "message larger than " + engine.limits().maxFrameBytes() + " bytes");
    }

    /**
     * Closes the connection: queued frames are still written (unless it is a slow consumer),
     * then a {@code disconnect} frame and the close frame.
     */
    public void close(CloseCode code, String reason) {
        stateLock.lock();
        try {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
        } finally {
            stateLock.unlock();
        }
        String shortReason = truncateReason(reason);
        LOG.log(System.Logger.Level.DEBUG, () -> "session " + id + " (" + describe() + ") closing: " + code + " " + reason);
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
        unsubscribeAll();
    }

    /**
     * The transport is gone (peer closed, socket error): releases everything at once.
     *
     * @param closeCode the close code when known, else 0
     */
    public void transportClosed(int closeCode) {
        markClosed();
        out.stop();
        terminate(closeCode);
    }

    // ------------------------------------------------------------------ frames

    private void handle(ClientFrame frame) {
        if (state == State.AWAITING_AUTH && !(frame instanceof ClientFrame.Connect)) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "authenticate first with a connect frame");
        }
        switch (frame) {
            case ClientFrame.Connect c -> {
                if (state != State.AWAITING_AUTH) {
                    throw new ProtocolException(ErrorCode.BAD_REQUEST, "already authenticated; use refresh");
                }
                try {
                    authenticate(c.token(), c.id());
                } catch (ProtocolException e) {
                    refuseAuth(e.withRequestId(c.id()));
                }
            }
            case ClientFrame.Refresh r -> refresh(r);
            case ClientFrame.Subscribe s -> subscribe(s);
            case ClientFrame.Unsubscribe u -> {
                ChannelKey key = engine.rules().resolve(principal.tenant(), u.channel());
                SessionSubscriber sub = subscriptions.remove(key);
                if (sub != null) {
                    engine.broker().unsubscribe(key, sub);
                }
                leavePresence(key);
                reply(u.id(), engine.codec().object().put("channel", u.channel()).put("subscribed", false));
            }
            case ClientFrame.Publish p -> publish(p);
            case ClientFrame.Ping p -> reply(p.id(), engine.codec().object());
            case ClientFrame.Presence p -> presence(p);
            case ClientFrame.Ack a -> ack(a);
            case ClientFrame.DocGet g -> {
                Document d = documents().get(principal, new DocRef(g.docType(), g.docId()))
                        .orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND, "no document " + g.docType()
                                + "/" + g.docId()));
                reply(g.id(), engine.codec().object().set("document", d.toJson()));
            }
            case ClientFrame.DocUpdate u -> reply(u.id(), documents().apply(principal, DocOp.from(u)).toJson());
            case ClientFrame.DocQuery q -> throw new ProtocolException(ErrorCode.UNAVAILABLE,
                    "doc.query is not served by this build yet");
            case ClientFrame.Sync s -> {
                ObjectNode body = engine.codec().object();
                ArrayNode results = body.putArray("results");
                for (OpResult r : documents().syncFrames(principal, s.ops())) {
                    results.add(r.toJson());
                }
                reply(s.id(), body);
            }
            case ClientFrame.ConflictResolve r -> {
                Documents.Resolved res = documents().resolve(principal, r.conflictId(),
                        Resolution.parse(r.resolution(), r.data()));
                reply(r.id(), engine.codec().object().put("result", "resolved").put("conflictId", r.conflictId())
                        .put("version", res.document().version()).set("document", res.document().toJson()));
            }
        }
    }

    private Documents documents() {
        return engine.documents().orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                "documents are not enabled on this node"));
    }

    private void authenticate(String token, long requestId) {
        Principal p = engine.verifier().verify(token);
        if (p.expiredAt(engine.clock().instant())) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "token expired");
        }
        stateLock.lock();
        try {
            if (state != State.AWAITING_AUTH) {
                return;
            }
            principal = p;
            state = State.OPEN;
        } finally {
            stateLock.unlock();
        }
        if (authTimer != null) {
            authTimer.cancel(false);
        }
        scheduleExpiry(p);
        SessionLimits l = engine.limits();
        enqueue(new ServerFrame.Welcome(id, engine.nodeId(), p.user(), p.tenant(), l.heartbeatInterval().toMillis(),
                p.expiresAt(), new ServerFrame.Limits(l.maxFrameBytes(), l.messagesPerSecond(), l.burst(),
                l.maxSubscriptions())));
        if (requestId > 0) {
            reply(requestId, engine.codec().object().put("session", id));
        }
        LOG.log(System.Logger.Level.DEBUG, () -> "session " + id + " authenticated: " + describe());
    }

    private void refuseAuth(ProtocolException e) {
        sendError(e);
        close(CloseCode.UNAUTHORIZED, String.valueOf(e.getMessage()));
    }

    private void refresh(ClientFrame.Refresh r) {
        Principal next = engine.verifier().verify(r.token());
        Principal current = principal;
        if (!next.tenant().equals(current.tenant()) || !next.user().equals(current.user())) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "a refreshed token must be for the same user and tenant");
        }
        if (next.expiredAt(engine.clock().instant())) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "token expired");
        }
        principal = next;
        scheduleExpiry(next);
        // the new token may grant less (fewer locations, roles): drop what it no longer allows
        for (Map.Entry<ChannelKey, SessionSubscriber> e : subscriptions.entrySet()) {
            try {
                engine.rules().authorize(next, e.getKey().name().toString(), ChannelRules.Action.SUBSCRIBE);
            } catch (ProtocolException refused) {
                if (subscriptions.remove(e.getKey(), e.getValue())) {
                    engine.broker().unsubscribe(e.getKey(), e.getValue());
                    leavePresence(e.getKey());
                    sendError(new ProtocolException(ErrorCode.FORBIDDEN, "unsubscribed from " + e.getKey().name()
                            + ": the refreshed token no longer allows it"));
                }
            }
        }
        ObjectNode body = engine.codec().object();
        next.expiresAt().ifPresent(t -> body.put("expiresAt", t.toString()));
        reply(r.id(), body);
    }

    private void scheduleExpiry(Principal p) {
        ScheduledFuture<?> previous = expiryTimer;
        if (previous != null) {
            previous.cancel(false);
        }
        p.expiresAt().ifPresent(exp -> {
            long delay = Math.max(0, Duration.between(engine.clock().instant(), exp).toMillis());
            expiryTimer = engine.scheduler().schedule(() -> {
                if (principal == p) {
                    close(CloseCode.TOKEN_EXPIRED, "token expired; reconnect with a fresh token");
                }
            }, delay, TimeUnit.MILLISECONDS);
        });
    }

    private void subscribe(ClientFrame.Subscribe s) {
        ChannelKey key = engine.rules().authorize(principal, s.channel(), ChannelRules.Action.SUBSCRIBE);
        if (subscriptions.containsKey(key)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "already subscribed to " + s.channel());
        }
        if (subscriptions.size() >= engine.limits().maxSubscriptions()) {
            throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "at most " + engine.limits().maxSubscriptions()
                    + " subscriptions per connection");
        }
        SessionSubscriber sub = new SessionSubscriber();
        subscriptions.put(key, sub);
        Namespace ns = engine.rules().namespaceOf(key);
        boolean ownInbox = key.namespace().equals(Inbox.NAMESPACE) && key.name().id().equals(principal.user());
        boolean joined = false;
        try {
            // network calls (Redis) happen here, before the broker's lock is taken. For the own
            // inbox, the channel's top is read before the pending messages, and without a position
            // of the client's the subscription resumes from that top: whatever is published while
            // the pending list is read is then replayed rather than missed
            Optional<Position> since = s.since();
            if (ownInbox && since.isEmpty()) {
                since = Optional.of(engine.broker().top(key));
            }
            List<Publication> pending = ownInbox ? engine.inbox().pending(principal.tenant(), principal.user())
                    : List.of();
            if (ownInbox) {
                engine.telemetry().inboxDepth(pending.size());
            }
            if (ns.presence()) {
                joined = joinPresence(key);
            }
            Optional<ArrayNode> snapshot = s.presence() && ns.presence()
                    ? Optional.of(members(engine.presence().members(key))) : Optional.empty();
            engine.broker().subscribe(key, sub, since, recovery -> {
                if (s.id() > 0) {
                    Position top = recovery.top();
                    ObjectNode body = engine.codec().object()
                            .put("channel", s.channel())
                            .put("epoch", top.epoch())
                            .put("offset", top.offset());
                    if (s.since().isPresent()) {
                        body.put("recovered", recovery.recovered());
                    }
                    snapshot.ifPresent(m -> body.set("presence", m));
                    if (ownInbox) {
                        body.put("inbox", pending.size());
                    }
                    reply(s.id(), body);
                }
                // unacknowledged inbox messages, then what was missed, each once, by offset
                for (Publication p : replay(pending, recovery.missed())) {
                    // encoded later by this connection's writer: beforeLive runs under the
                    // channel's lock, where publishers to the channel wait
                    if (!out.offerUnencoded(p)) {
                        overflowed();
                        break;
                    }
                }
            });
        } catch (RuntimeException e) {
            subscriptions.remove(key, sub);
            if (joined) {
                leavePresence(key);
            }
            throw e;
        }
        if (state == State.CLOSED) {
            // closed while subscribing (the replay overflowed the queue, or a close from another
            // thread): that close's unsubscribeAll may have run before the broker added sub, so
            // remove sub itself rather than rely on the map, which no longer holds it
            subscriptions.remove(key, sub);
            engine.broker().unsubscribe(key, sub);
            unsubscribeAll();
        }
    }

    private static List<Publication> replay(List<Publication> pending, List<Publication> missed) {
        if (pending.isEmpty()) {
            return missed;
        }
        java.util.LinkedHashMap<Position, Publication> byPosition = new java.util.LinkedHashMap<>();
        for (Publication p : pending) {
            byPosition.put(p.position().orElseThrow(), p);
        }
        for (Publication p : missed) {
            byPosition.putIfAbsent(p.position().orElseThrow(), p);
        }
        List<Publication> all = new java.util.ArrayList<>(byPosition.values());
        // pending entries of an older epoch stay first (their offsets are not comparable)
        String epoch = missed.isEmpty() ? "" : missed.getFirst().position().orElseThrow().epoch();
        all.sort(java.util.Comparator.comparing((Publication p) -> p.position().orElseThrow().epoch().equals(epoch))
                .thenComparingLong(p -> p.position().orElseThrow().offset()));
        return all;
    }

    /** Joins the channel's presence; true when this session's join took effect. */
    private boolean joinPresence(ChannelKey key) {
        Principal p = principal;
        boolean first = engine.presence().join(key, p.user(), id, Optional.empty());
        presenceJoined.add(key);
        engine.presenceJoined(key);
        if (first && engine.rules().namespaceOf(key).joinLeave()) {
            engine.publishPresence(key, "join", engine.codec().object().put("user", p.user()));
        }
        return true;
    }

    /** Leaves the channel's presence (in the background: it may be a network call on a timer thread). */
    private void leavePresence(ChannelKey key) {
        if (!presenceJoined.remove(key)) {
            return;
        }
        Principal p = principal;
        engine.presenceLeft(key);
        presenceTask(() -> {
            if (engine.presence().leave(key, p.user(), id) && engine.rules().namespaceOf(key).joinLeave()) {
                engine.publishPresence(key, "leave", engine.codec().object().put("user", p.user()));
            }
        });
    }

    private ArrayNode members(List<Member> members) {
        ArrayNode list = engine.codec().mapper().createArrayNode();
        for (Member m : members) {
            ObjectNode o = list.addObject().put("user", m.user()).put("connections", m.connections())
                    .put("lastSeen", m.lastSeen().toString());
            m.state().ifPresent(st -> o.set("state", st));
        }
        return list;
    }

    private void presence(ClientFrame.Presence p) {
        ChannelKey key = engine.rules().resolve(principal.tenant(), p.channel());
        if (!presenceJoined.contains(key)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "subscribe to " + p.channel()
                    + " first (in a namespace with presence)");
        }
        if (p.state().isPresent()) {
            Member m = engine.presence().setState(key, principal.user(), id, p.state().get());
            ObjectNode member = (ObjectNode) members(List.of(m)).get(0);
            reply(p.id(), engine.codec().object().put("channel", p.channel()).set("member", member.deepCopy()));
            engine.publishPresence(key, "state", member);
        } else {
            reply(p.id(), engine.codec().object().put("channel", p.channel())
                    .set("members", members(engine.presence().members(key))));
        }
    }

    private void ack(ClientFrame.Ack a) {
        ChannelKey key = engine.rules().authorize(principal, a.channel(), ChannelRules.Action.SUBSCRIBE);
        if (!key.namespace().equals(Inbox.NAMESPACE)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "ack is for user: channels (inboxes)");
        }
        if (a.epoch().isPresent()) {
            Optional<String> current = engine.inbox().epoch(principal.tenant(), key.name().id());
            if (current.isPresent() && !current.get().equals(a.epoch().get())) {
                throw new ProtocolException(ErrorCode.CONFLICT, "the inbox's history changed (epoch " + a.epoch().get()
                        + " is gone); nothing was acknowledged: resubscribe to " + a.channel());
            }
        }
        AckResult r = engine.inbox().ack(principal.tenant(), key.name().id(), a.offset());
        reply(a.id(), engine.codec().object().put("channel", a.channel()).put("acknowledged", r.acknowledged())
                .put("remaining", r.remaining()));
    }

    private void publish(ClientFrame.Publish p) {
        ChannelKey key = engine.rules().authorize(principal, p.channel(), ChannelRules.Action.PUBLISH);
        Namespace ns = engine.rules().namespaceOf(key);
        if (ns.ephemeralOnly() && !p.ephemeral()) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "clients may only publish ephemeral events to "
                    + ns.name() + ": channels");
        }
        Draft.checkType(p.type());
        if (p.ephemeral() && !ephemeralBucket.tryAcquire(System.nanoTime())) {
            throw new ProtocolException(ErrorCode.RATE_LIMITED, "more than " + engine.limits().ephemeralPerSecond()
                    + " typing/cursor signals per second");
        }
        Publication pub = engine.publishDurable(key, new Draft(p.type(), p.data(), p.ephemeral(), Optional.empty(),
                Optional.of(principal.user())));
        ObjectNode body = engine.codec().object().put("channel", p.channel()).put("eventId", pub.eventId());
        pub.position().ifPresent(pos -> body.put("epoch", pos.epoch()).put("offset", pos.offset()));
        reply(p.id(), body);
    }

    // ------------------------------------------------------------------ output

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

    private void overflowed() {
        if (state != State.CLOSED) {
            engine.telemetry().slowConsumerClosed();
            close(CloseCode.SLOW_CONSUMER, "outbound queue full: read faster or subscribe to less");
        }
    }

    private void heartbeat() {
        if (state == State.CLOSED) {
            return;
        }
        SessionLimits l = engine.limits();
        long silentMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastHeardNanos);
        if (silentMs > l.heartbeatInterval().toMillis() + l.heartbeatTimeout().toMillis()) {
            close(CloseCode.HEARTBEAT_TIMEOUT, "no pong or message for " + silentMs + " ms");
        } else {
            out.ping();
            refreshPresence();
        }
    }

    // ------------------------------------------------------------------ teardown

    private void writerFinished(int closeCode) {
        markClosed();
        terminate(closeCode);
    }

    /** Keeps this connection's presence entries alive; re-joins where one expired meanwhile. */
    private void refreshPresence() {
        Principal p = principal;
        if (presenceJoined.isEmpty() || p == null) {
            return;
        }
        List<ChannelKey> keys = List.copyOf(presenceJoined);
        presenceTask(() -> {
            for (ChannelKey key : keys) {
                if (presenceJoined.contains(key) && !engine.presence().heartbeat(key, p.user(), id)
                        && engine.presence().join(key, p.user(), id, Optional.empty())
                        && engine.rules().namespaceOf(key).joinLeave()) {
                    engine.publishPresence(key, "join", engine.codec().object().put("user", p.user()));
                }
            }
        });
    }

    /**
     * Runs a presence call (a network call with Redis) off the caller's thread, after this
     * session's earlier presence calls: a leave never overtakes the join or refresh before it.
     */
    private void presenceTask(Runnable task) {
        presenceLock.lock();
        try {
            presenceOps = presenceOps.thenRunAsync(task, engine.backgroundExecutor()).exceptionally(e -> {
                LOG.log(System.Logger.Level.WARNING, "session " + id + ": presence update failed: " + e);
                return null;
            });
        } finally {
            presenceLock.unlock();
        }
    }

    private void markClosed() {
        stateLock.lock();
        try {
            state = State.CLOSED;
        } finally {
            stateLock.unlock();
        }
    }

    private void unsubscribeAll() {
        for (Map.Entry<ChannelKey, SessionSubscriber> e : subscriptions.entrySet()) {
            if (subscriptions.remove(e.getKey(), e.getValue())) {
                engine.broker().unsubscribe(e.getKey(), e.getValue());
            }
        }
        for (ChannelKey key : List.copyOf(presenceJoined)) {
            leavePresence(key);
        }
    }

    private void terminate(int closeCode) {
        if (!terminated.compareAndSet(false, true)) {
            return;
        }
        unsubscribeAll();
        for (ScheduledFuture<?> f : new ScheduledFuture<?>[] {authTimer, expiryTimer, heartbeat}) {
            if (f != null) {
                f.cancel(false);
            }
        }
        engine.sessionEnded(this, closeCode);
        try {
            onEnded.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "session " + id + ": end hook failed", e);
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

    /** This connection's subscription to one channel: queues the shared frame text. */
    private final class SessionSubscriber implements Subscriber {
        @Override
        public void deliver(Publication publication, String frame) {
            if (!out.offer(frame, "event", publication.acceptedNanos())) {
                overflowed();
            }
        }
    }
}
