package dev.tandem.operations;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.hub.Publication;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;

/**
 * One connection's subscriptions and presence memberships, whatever the transport: subscribe
 * (with recovery after a position, the user's inbox replayed on its own {@code user:} channel,
 * presence joined where the namespace keeps it, and on {@code doc:} channels a snapshot of the
 * document), unsubscribe, presence state and queries, refresh (dropping what a new token no longer
 * allows) and close. Publications go to the connection's {@link Delivery} in channel order.
 *
 * <p>Guarantees: every subscribe is answered exactly once, in order with the publications of its
 * channel (the answer, then what is replayed, then live ones, with no gap and no duplicate by
 * offset); a refused subscribe leaves nothing subscribed or joined. A connection's own typing and
 * cursor signals are not delivered back to its user. A {@code doc:} subscription is taken away
 * (with a {@code forbidden} notice) when a change makes the document unreadable for its user.
 * Presence calls of one connection run in order off the caller's thread (they may be network calls).
 */
public final class Subscriptions {
    private static final System.Logger LOG = System.getLogger(Subscriptions.class.getName());
    /** The event of a document change (a deletion carries no data and is always delivered). */
    private static final String DOC_CHANGED = "doc.changed";
    private static final String DOC_DELETED = "doc.deleted";
    /**
     * What a connection without pending presence calls chains on: one completed future for all
     * (a completed future is never changed by what is chained on it).
     */
    private static final CompletableFuture<Void> NO_PRESENCE_CALLS = CompletableFuture.completedFuture(null);
    private static final VarHandle PRESENCE_OPS;
    private static final VarHandle PRESENCE_JOINED;
    private static final VarHandle SUBSCRIPTIONS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            PRESENCE_OPS = l.findVarHandle(Subscriptions.class, "presenceOps", CompletableFuture.class);
            PRESENCE_JOINED = l.findVarHandle(Subscriptions.class, "presenceJoined", Set.class);
            SUBSCRIPTIONS = l.findVarHandle(Subscriptions.class, "subscriptions", Map.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Parts parts;
    private final String connection;
    private final Delivery delivery;
    private final int maxSubscriptions;
    /**
     * The subscriptions by channel: an immutable map, replaced on every change by a
     * compare-and-set ({@link #SUBSCRIPTIONS}; see {@link #add}, {@link #remove}). Changes are
     * rare (subscribe, unsubscribe, close) and a connection has few subscriptions, mostly one:
     * an immutable map of one costs a fifth of a concurrent map's memory.
     */
    private volatile Map<ChannelKey, Subscription> subscriptions = Map.of();
    /**
     * The channels whose presence this connection joined: made at the first join (most
     * connections never join one), through {@link #PRESENCE_JOINED}; read with {@link #joined()}.
     */
    private volatile Set<ChannelKey> presenceJoined;
    /** The last of this connection's presence calls, through {@link #PRESENCE_OPS}. */
    private volatile CompletableFuture<Void> presenceOps = NO_PRESENCE_CALLS;
    private volatile Principal principal;
    private volatile boolean closed;

    Subscriptions(Parts parts, String connection, Principal principal, Delivery delivery, int maxSubscriptions) {
        this.parts = parts;
        this.connection = connection;
        this.principal = principal;
        this.delivery = delivery;
        this.maxSubscriptions = maxSubscriptions;
    }

    /** How many channels the connection is subscribed to. */
    public int count() {
        return subscriptions.size();
    }

    /** Where a subscription's publications go. */
    Delivery delivery() {
        return delivery;
    }

    /** The codec a subscription encodes a replay with. */
    FrameCodec codec() {
        return parts.codec();
    }

    /** Who the connection is. */
    public Principal principal() {
        return principal;
    }

    // ------------------------------------------------------------------ subscribe

    /**
     * Subscribes. The answer ({@code {channel, epoch, offset}}, and {@code recovered} with
     * {@code since}, {@code presence} with {@code presence: true}, {@code inbox} on the own inbox,
     * {@code document} with {@code snapshot: true}, {@code delta} with {@code delta}: whether event
     * payloads come as Fossil deltas, false where the namespace does not allow them) is given to
     * {@code answer} exactly once, before any publication of the channel reaches the delivery.
     */
    public void subscribe(ClientFrame.Subscribe s, Consumer<Result> answer) {
        AtomicBoolean answered = new AtomicBoolean();
        Consumer<Result> once = r -> {
            if (answered.compareAndSet(false, true)) {
                answer.accept(r);
            }
        };
        Principal who = principal;
        try {
            subscribe(who, s, once);
        } catch (ProtocolException e) {
            parts.telemetry().error(e.code());
            once.accept(Result.failed(e));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "tenant " + who.tenant() + " user " + who.user() + " connection "
                    + connection + ": subscribe failed", LogText.scrub(e));
            parts.telemetry().error(ErrorCode.INTERNAL);
            once.accept(new Result.Failed(ErrorCode.INTERNAL, "internal error; see the server log"));
        }
    }

    private void subscribe(Principal who, ClientFrame.Subscribe s, Consumer<Result> answer) {
        ChannelRules rules = parts.rules();
        ChannelKey key = rules.authorize(who, s.channel(), ChannelRules.Action.SUBSCRIBE);
        Namespace ns = rules.namespaceOf(key);
        if (s.presence() && !ns.presence()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "channels of '" + ns.name() + "' have no presence");
        }
        boolean document = key.namespace().equals("doc") && parts.documents().isPresent();
        if (s.snapshot() && !key.namespace().equals("doc")) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "snapshot is for doc:{type}:{id} channels");
        }
        if (s.snapshot() && !document) {
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "documents are not enabled on this node");
        }
        Optional<String> hooked = parts.hooks().subscribe(who, key);
        if (hooked.isPresent()) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, hooked.get());
        }
        if (subscriptions.containsKey(key)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "already subscribed to " + s.channel());
        }
        if (subscriptions.size() >= maxSubscriptions) {
            throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "at most " + maxSubscriptions
                    + " subscriptions per connection");
        }
        Optional<DocRef> docRef = document ? Optional.of(new DocRef(key.name().segments().get(0),
                key.name().segments().get(1))) : Optional.empty();
        if (docRef.isPresent()) {
            // forbidden when the user may not read it: judged before anything is joined, so a
            // refused subscribe shows nobody a presence join and leave (a snapshot reads again
            // once live)
            parts.docs().readable(who, docRef.get());
        }
        boolean delta = s.delta().filter(Namespace.FOSSIL::equals).isPresent() && ns.allowsDelta(Namespace.FOSSIL);
        // a snapshot (document or members) is read once live and answered before what followed it
        boolean reads = s.snapshot() || s.presence();
        Subscription sub = new Subscription(this, key, docRef, reads, delta);
        parts.userChannels().acquire(who, key);
        add(key, sub);
        boolean ownInbox = key.namespace().equals(Inbox.NAMESPACE) && key.name().id().equals(who.user());
        boolean joined = false;
        ObjectNode[] reply = new ObjectNode[1];
        try {
            // network calls (Redis) happen here, before the broker's lock is taken. For the own
            // inbox, the channel's top is read before the pending messages, and without a position
            // of the client's the subscription resumes from that top: whatever is published while
            // the pending list is read is then replayed rather than missed
            Optional<Position> since = s.since();
            if (ownInbox && since.isEmpty()) {
                since = Optional.of(parts.broker().top(key));
            }
            List<Publication> pending = ownInbox ? parts.inbox().pending(who.tenant(), who.user()) : List.of();
            if (ownInbox) {
                parts.telemetry().inboxDepth(pending.size());
            }
            if (ns.presence()) {
                parts.presences().join(key, who.user(), connection);
                joinedForAdding().add(key);
                joined = true;
            }
            parts.broker().subscribe(key, sub, since, recovery -> {
                ObjectNode body = body(s, recovery, ownInbox ? pending.size() : -1);
                if (s.delta().isPresent()) {
                    body.put("delta", delta); // asked for where the namespace does not allow it: without
                }
                // a version replayed from an older offset is judged like a live one
                List<Publication> replay = replay(pending, recovery.missed()).stream()
                        .filter(p -> readable(who, p)).toList();
                if (reads) {
                    // answered once the snapshot is read; until then publications wait in order
                    reply[0] = body;
                    sub.holdReplay(replay);
                } else {
                    answer.accept(new Result.Ok(body));
                    for (Publication p : replay) {
                        if (!sub.replay(p)) {
                            delivery.overflowed();
                            break;
                        }
                    }
                }
            });
            if (reads) {
                // read after going live: every change after this read arrives as an event (one
                // before it may arrive too, and changes nothing a client applies in order)
                if (s.presence()) {
                    reply[0].set("presence", parts.presences().members(key));
                }
                if (s.snapshot()) {
                    Optional<Document> doc = parts.docs().readable(who, docRef.get());
                    reply[0].set("document", doc.<com.fasterxml.jackson.databind.JsonNode>map(Document::toJson)
                            .orElse(NullNode.getInstance()));
                }
                sub.release(() -> answer.accept(new Result.Ok(reply[0])));
            }
        } catch (RuntimeException e) {
            if (remove(key, sub)) {
                parts.broker().unsubscribe(key, sub);
            }
            if (joined) {
                leavePresence(key, who);
            }
            throw e;
        }
        if (closed) {
            // closed while subscribing (the replay overflowed the queue, or a close from another
            // thread): that close may have run before the broker added sub, so remove sub itself
            // rather than rely on the map, which no longer holds it
            remove(key, sub);
            parts.broker().unsubscribe(key, sub);
            close();
        }
    }

    private ObjectNode body(ClientFrame.Subscribe s, Recovery recovery, int inbox) {
        Position top = recovery.top();
        ObjectNode body = parts.codec().object().put("channel", s.channel()).put("epoch", top.epoch())
                .put("offset", top.offset());
        if (s.since().isPresent()) {
            body.put("recovered", recovery.recovered());
        }
        if (inbox >= 0) {
            body.put("inbox", inbox);
        }
        return body;
    }

    /** Unacknowledged inbox messages, then what was missed, each once, by position. */
    static List<Publication> replay(List<Publication> pending, List<Publication> missed) {
        if (pending.isEmpty()) {
            return missed;
        }
        LinkedHashMap<Position, Publication> byPosition = new LinkedHashMap<>();
        for (Publication p : pending) {
            byPosition.put(p.position().orElseThrow(), p);
        }
        for (Publication p : missed) {
            byPosition.putIfAbsent(p.position().orElseThrow(), p);
        }
        List<Publication> all = new ArrayList<>(byPosition.values());
        // pending entries of an older epoch stay first (their offsets are not comparable)
        String epoch = missed.isEmpty() ? "" : missed.getFirst().position().orElseThrow().epoch();
        all.sort(Comparator.comparing((Publication p) -> p.position().orElseThrow().epoch().equals(epoch))
                .thenComparingLong(p -> p.position().orElseThrow().offset()));
        return all;
    }

    /** Unsubscribes (and leaves the channel's presence): {@code {channel, subscribed: false}}. */
    public Result unsubscribe(String channel) {
        Principal who = principal;
        return parts.answer(who, "unsubscribe", () -> {
            ChannelKey key = parts.rules().resolve(who.tenant(), channel);
            Subscription sub = subscriptions.get(key);
            if (sub != null && remove(key, sub)) {
                parts.broker().unsubscribe(key, sub);
            }
            leavePresence(key, who);
            return parts.codec().object().put("channel", channel).put("subscribed", false);
        });
    }

    // ------------------------------------------------------------------ presence

    /**
     * {@code presence} with a state (an object): sets the user's state on a channel this
     * connection is present on. Answers {@code {channel, member}}.
     */
    public Result presenceState(String channel, JsonNode state) {
        Principal who = principal;
        return parts.answer(who, "presence", () -> {
            ChannelKey key = parts.rules().resolve(who.tenant(), channel);
            if (!joined().contains(key)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "subscribe to " + channel
                        + " first (in a namespace with presence)");
            }
            if (!(state instanceof ObjectNode object)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "presence state must be a JSON object");
            }
            ObjectNode member = parts.presences().setState(key, who.user(), connection, object);
            return parts.codec().object().put("channel", channel).set("member", member);
        });
    }

    /** Keeps this connection's presence entries alive (its heartbeat). */
    public void heartbeat() {
        Principal who = principal;
        Set<ChannelKey> joined = joined();
        if (joined.isEmpty()) {
            return;
        }
        List<ChannelKey> keys = List.copyOf(joined);
        presenceTask(() -> {
            for (ChannelKey key : keys) {
                if (joined.contains(key)) {
                    parts.presences().heartbeat(key, who.user(), connection);
                }
            }
        });
    }

    private void leavePresence(ChannelKey key, Principal who) {
        Set<ChannelKey> joined = presenceJoined;
        if (joined != null && joined.remove(key)) {
            presenceTask(() -> parts.presences().leave(key, who.user(), connection));
        }
    }

    /**
     * Runs a presence call (a network call with Redis) off the caller's thread, after this
     * connection's earlier presence calls: a leave never overtakes the join or refresh before it.
     */
    @SuppressWarnings("unchecked")
    private void presenceTask(Runnable task) {
        // lock-free chaining: whoever swaps in its future runs after the one it swapped out
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> previous = (CompletableFuture<Void>) PRESENCE_OPS.getAndSet(this, mine);
        previous.thenRunAsync(task, parts.background().executor()).whenComplete((ignored, e) -> {
            if (e != null) {
                LOG.log(System.Logger.Level.WARNING, "connection " + connection + ": presence update failed: " + e);
            }
            mine.complete(null);
            // nothing chained after it: an idle connection goes back to holding the shared future
            PRESENCE_OPS.compareAndSet(this, mine, NO_PRESENCE_CALLS);
        });
    }

    /** Adds a subscription (its channel's previous one, if any, is replaced). */
    private void add(ChannelKey key, Subscription sub) {
        for (;;) {
            Map<ChannelKey, Subscription> current = subscriptions;
            Map<ChannelKey, Subscription> next = new HashMap<>(current);
            next.put(key, sub);
            if (SUBSCRIPTIONS.compareAndSet(this, current, Map.copyOf(next))) {
                return;
            }
        }
    }

    /**
     * Removes this subscription of the channel (and its count among the user's channels); false
     * when it is not (or no longer) there.
     */
    private boolean remove(ChannelKey key, Subscription sub) {
        for (;;) {
            Map<ChannelKey, Subscription> current = subscriptions;
            if (current.get(key) != sub) {
                return false;
            }
            Map<ChannelKey, Subscription> next = new HashMap<>(current);
            next.remove(key);
            if (SUBSCRIPTIONS.compareAndSet(this, current, Map.copyOf(next))) {
                parts.userChannels().release(principal, key);
                return true;
            }
        }
    }

    /** The joined presences, to read (an immutable empty set until the first join). */
    private Set<ChannelKey> joined() {
        Set<ChannelKey> j = presenceJoined;
        return j == null ? Set.of() : j;
    }

    @SuppressWarnings("unchecked")
    private Set<ChannelKey> joinedForAdding() {
        Set<ChannelKey> j = presenceJoined;
        if (j != null) {
            return j;
        }
        Set<ChannelKey> made = ConcurrentHashMap.newKeySet(1);
        Set<ChannelKey> witness = (Set<ChannelKey>) PRESENCE_JOINED.compareAndExchange(this, (Set<ChannelKey>) null, made);
        return witness == null ? made : witness;
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Takes a refreshed principal (same user and tenant): subscriptions the new token no longer
     * allows are dropped, each with a {@code forbidden} notice.
     */
    public void refresh(Principal next) {
        principal = next;
        for (Map.Entry<ChannelKey, Subscription> e : subscriptions.entrySet()) {
            try {
                parts.rules().authorize(next, e.getKey().name().toString(), ChannelRules.Action.SUBSCRIBE);
            } catch (ProtocolException refused) {
                if (remove(e.getKey(), e.getValue())) {
                    parts.broker().unsubscribe(e.getKey(), e.getValue());
                    leavePresence(e.getKey(), next);
                    delivery.notice(new Result.Failed(ErrorCode.FORBIDDEN, "unsubscribed from " + e.getKey().name()
                            + ": the refreshed token no longer allows it"));
                }
            }
        }
    }

    /** Unsubscribes from everything and leaves every presence; later subscribes undo themselves. */
    public void close() {
        closed = true;
        Principal who = principal;
        for (Map.Entry<ChannelKey, Subscription> e : subscriptions.entrySet()) {
            if (remove(e.getKey(), e.getValue())) {
                parts.broker().unsubscribe(e.getKey(), e.getValue());
            }
        }
        for (ChannelKey key : List.copyOf(joined())) {
            leavePresence(key, who);
        }
    }

    /**
     * Whether a publication carries no document the user may not read ({@code doc.changed} and
     * {@code doc.deleted}, judged by read).
     */
    boolean readable(Principal who, Publication p) {
        return !(p.type().equals(DOC_CHANGED) || p.type().equals(DOC_DELETED)) || parts.documents().isEmpty()
                || parts.docs().mayRead(who, p);
    }

    /** A user loses a doc: subscription when a change makes the document unreadable for them. */
    void revoke(Subscription sub) {
        if (remove(sub.key, sub)) {
            parts.background().run(() -> parts.broker().unsubscribe(sub.key, sub));
            delivery.notice(new Result.Failed(ErrorCode.FORBIDDEN, "unsubscribed from " + sub.key.name()
                    + ": you may no longer read the document"));
        }
    }
}
