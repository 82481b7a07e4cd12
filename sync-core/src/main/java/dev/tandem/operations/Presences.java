package dev.tandem.operations;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.presence.Member;
import dev.tandem.presence.PresenceListener;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

/**
 * Presence: who is on a channel, for a client that may subscribe to it and for a service of the
 * tenant; and, for the connections' {@link Subscriptions}, joins, leaves, states and heartbeats
 * with the join and leave events their namespace wants (once per user, not per tab), and the
 * sweep that makes users of a dead node leave: the channels with a local member are checked every
 * half TTL and the users whose connections all expired get a leave event.
 */
public final class Presences {
    private static final System.Logger LOG = System.getLogger(Presences.class.getName());

    private final PresenceStore store;
    private final ChannelRules rules;
    private final Publisher publisher;
    private final FrameCodec codec;
    private final PresenceListener listener;
    private final Telemetry telemetry;
    /** Channels with presence joined by local connections, with how many: swept for expired users. */
    private final Map<ChannelKey, AtomicInteger> local = new ConcurrentHashMap<>();

    Presences(PresenceStore store, ChannelRules rules, Publisher publisher, FrameCodec codec, Telemetry telemetry,
              Background background, PresenceListener listener) {
        this.store = store;
        this.telemetry = telemetry;
        this.listener = listener;
        this.rules = rules;
        this.publisher = publisher;
        this.codec = codec;
        long sweep = Math.max(1000, store.limits().ttl().toMillis() / 2);
        background.every(sweep, this::expire);
    }

    /**
     * {@code presence} without a state, from a client: who is on a channel the caller may
     * subscribe to, whatever the transport. Answers {@code {channel, members}}.
     */
    public Result members(Principal who, String channel) {
        return Answers.answer(telemetry, who, "presence", () -> members(channel,
                rules.authorize(who, channel, ChannelRules.Action.SUBSCRIBE)));
    }

    /** Who is on a channel of the service's tenant: {@code {"channel","members":[…]}}. */
    public Result serviceMembers(Principal service, String channel) {
        return Answers.answer(telemetry, service, "presence", () -> {
            ChannelKey key = rules.resolve(service.tenant(), channel);
            return members(key.name().toString(), key);
        });
    }

    private ObjectNode members(String channel, ChannelKey key) {
        if (!rules.namespaceOf(key).presence()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "channels of '" + key.namespace() + "' have no presence");
        }
        return codec.object().put("channel", channel).set("members", members(key));
    }

    /** A connection joins; a join event when it is the user's first and the namespace wants events. */
    void join(ChannelKey key, String user, String connection) {
        local.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        if (store.join(key, user, connection, Optional.empty())) {
            joined(key, user);
        }
    }

    private void joined(ChannelKey key, String user) {
        listener.joined(key, user);
        if (rules.namespaceOf(key).joinLeave()) {
            publisher.presence(key, "join", codec.object().put("user", user));
        }
    }

    /** A connection leaves; a leave event when it was the user's last. */
    void leave(ChannelKey key, String user, String connection) {
        local.computeIfPresent(key, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
        if (store.leave(key, user, connection)) {
            listener.left(key, user, false);
            if (rules.namespaceOf(key).joinLeave()) {
                publisher.presence(key, "leave", codec.object().put("user", user));
            }
        }
    }

    /** Keeps a connection present; joins again (with its event) when its entry expired meanwhile. */
    void heartbeat(ChannelKey key, String user, String connection) {
        if (!store.heartbeat(key, user, connection) && store.join(key, user, connection, Optional.empty())) {
            joined(key, user);
        }
    }

    /** Sets a user's state through one of its connections; the member afterwards, announced. */
    ObjectNode setState(ChannelKey key, String user, String connection, ObjectNode state) {
        Member m = store.setState(key, user, connection, state);
        ObjectNode member = member(m);
        publisher.presence(key, "state", member.deepCopy());
        return member;
    }

    /** The members as the protocol shows them. */
    ArrayNode members(ChannelKey key) {
        ArrayNode list = codec.mapper().createArrayNode();
        for (Member m : store.members(key)) {
            list.add(member(m));
        }
        return list;
    }

    private ObjectNode member(Member m) {
        ObjectNode o = codec.object().put("user", m.user()).put("connections", m.connections())
                .put("lastSeen", m.lastSeen().toString());
        m.state().ifPresent(st -> o.set("state", st));
        return o;
    }

    /** Users whose connections all expired (a node died) leave, with a leave event where wanted. */
    private void expire() {
        for (ChannelKey key : local.keySet()) {
            try {
                List<String> gone = store.expire(key);
                for (String user : gone) {
                    listener.left(key, user, true);
                    if (rules.namespaceOf(key).joinLeave()) {
                        publisher.presence(key, "leave", codec.object().put("user", user).put("expired", true));
                    }
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "presence expiry on " + key + " failed: " + e);
            }
        }
    }
}
