package dev.tandem.session;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.operations.Hooks;
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
 * The authentication of a {@link Session}: its token checked (on connect, or with the upgrade),
 * the principal let in (the tenant's limit, the welcome, the channels named for it), a
 * {@code refresh} taking over. Made for one such step and dropped: a session keeps nothing of it.
 */
final class Opening {
    private static final System.Logger LOG = System.getLogger(Session.class.getName());

    private final Session session;
    private final Engine engine;

    Opening(Session session) {
        this.session = session;
        this.engine = session.engine();
    }

    /**
     * Authenticates with a token, or refuses: an expired token closes with 4003 (fetch a new
     * one and come back), any other refusal with 4001. Nothing of the session changes before
     * everything about the token checked out.
     */
    void authenticate(String token, long requestId) {
        // the client has sent its token: from here the node is the one waiting (revocations,
        // the connect hook), and it answers within its own budgets, never with an auth timeout
        session.tokenReceived();
        Hooks.Admitted admitted;
        try {
            admitted = engine.operations().authentication().connection(token);
        } catch (ProtocolException e) {
            session.refuseAuth(e.withRequestId(requestId), switch (e) {
                case TokenExpiredException x -> CloseCode.TOKEN_EXPIRED;
                case TokenRevokedException x -> CloseCode.TOKEN_REVOKED;
                // a backend that cannot be asked is not the client's fault: it may come back
                default -> e.code() == ErrorCode.UNAVAILABLE ? CloseCode.INTERNAL : CloseCode.UNAUTHORIZED;
            });
            return;
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "session " + session.id() + ": token verification failed",
                    LogText.scrub(e));
            session.refuseAuth(new ProtocolException(ErrorCode.UNAUTHORIZED, requestId, "token could not be verified"),
                    CloseCode.UNAUTHORIZED);
            return;
        }
        open(admitted, requestId, Map.of(), Optional.empty());
    }

    /**
     * Lets an authenticated principal in, on every transport alike: the tenant's connection limit,
     * the subscription state, the token's expiry, the welcome; then the channels the transport
     * named (an event stream's URL) and those the backend's connect hook named, subscribed as if
     * the client had asked, each with the delta format the transport asked for (an event stream's
     * {@code delta=}; none on a WebSocket, whose client asks per {@code subscribe}). Nothing of
     * the session changes before the tenant admitted it.
     */
    void open(Hooks.Admitted admitted, long requestId, Map<String, Optional<Position>> named, Optional<String> delta) {
        Principal p = admitted.principal();
        if (!engine.admitTenant(p.tenant())) {
            session.refuseAuth(new ProtocolException(ErrorCode.LIMIT_EXCEEDED, requestId, "tenant " + p.tenant()
                    + " has " + engine.fleet().maxConnectionsPerTenant() + " connections on this node"),
                    CloseCode.TENANT_LIMIT);
            return;
        }
        if (!session.holdTenant(p.tenant())) {
            return;
        }
        Subscriptions subs = engine.operations().channels().subscriptions(session.id(), p, session.out(),
                engine.limits().maxSubscriptions());
        if (!session.opened(p, subs)) {
            return;
        }
        SessionLimits l = engine.limits();
        session.enqueue(new ServerFrame.Welcome(session.id(), engine.nodeId(), p.user(), p.tenant(),
                l.heartbeatInterval().toMillis(), p.expiresAt(), new ServerFrame.Limits(l.maxFrameBytes(),
                l.messagesPerSecond(), l.burst(), l.maxSubscriptions())));
        if (requestId > 0) {
            session.reply(requestId, engine.codec().object().put("session", session.id()));
        }
        Map<String, Optional<Position>> channels = new LinkedHashMap<>(named);
        for (String channel : admitted.channels()) {
            channels.putIfAbsent(channel, Optional.empty());
        }
        channels.forEach((channel, since) -> subscribeForClient(subs, channel, since, delta));
        LOG.log(System.Logger.Level.DEBUG, () -> "session " + session.id() + " authenticated: " + session.describe());
    }

    /**
     * A subscription the server makes for the client (a channel its stream named, or the connect
     * hook's), answered as the transport wants ({@link Transport#announcesSubscriptions}); a
     * refusal is an {@code error} naming the channel. It is the {@code subscribe} a client sends,
     * so recovery, deltas and their answer are the same on every transport.
     */
    private void subscribeForClient(Subscriptions subs, String channel, Optional<Position> since,
                                    Optional<String> delta) {
        subs.subscribe(new ClientFrame.Subscribe(0, channel, since, false, false, delta), result -> {
            switch (result) {
                case Result.Ok ok -> {
                    if (session.transport().announcesSubscriptions()) {
                        session.offer(Frame.subscribed(engine.codec(), channel, ok.body()));
                    }
                }
                case Result.Failed f -> session.offer(Frame.refused(engine.codec(), channel, f));
            }
        });
    }

    /** A {@code refresh}: the same user's new token takes over (and its expiry). */
    Result refresh(ClientFrame.Refresh r) {
        Principal next;
        try {
            next = engine.operations().authentication().connection(r.token()).principal();
        } catch (TokenExpiredException e) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, r.id(), "token expired");
        }
        Principal current = session.principal().orElseThrow();
        if (!next.tenant().equals(current.tenant()) || !next.user().equals(current.user())) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "a refreshed token must be for the same user and tenant");
        }
        // the new token may grant less (fewer locations, roles): drop what it no longer allows
        session.refreshed(next);
        ObjectNode body = engine.codec().object();
        next.expiresAt().ifPresent(t -> body.put("expiresAt", t.toString()));
        return new Result.Ok(body);
    }
}
