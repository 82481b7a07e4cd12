package dev.tandem.session;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.inbox.Inbox;
import dev.tandem.inbox.MemoryInbox;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

/**
 * The sync engine of one node, independent of any transport: it opens {@link Session}s for
 * connections, publishes for trusted callers (services, backends), and drains on shutdown.
 * The gateway creates one and feeds it sockets and HTTP requests.
 */
public final class Engine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Engine.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String nodeId;
    private final FrameCodec codec;
    private final ChannelRules rules;
    private final Hub hub;
    private final Broker broker;
    private final TokenVerifier verifier;
    private final SessionLimits limits;
    private final Telemetry telemetry;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final PresenceStore presence;
    private final Optional<Documents> documents;
    private final Inbox inbox;
    /** Network calls that must not run on a timer or while a lock is held. */
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();
    /** Channels with presence joined by local sessions, with how many: swept for expired users. */
    private final Map<ChannelKey, AtomicInteger> presenceChannels = new ConcurrentHashMap<>();
    private volatile boolean accepting = true;

    private Engine(Builder b) {
        this.nodeId = b.nodeId;
        this.codec = b.codec;
        this.rules = b.rules;
        this.hub = b.hub;
        this.broker = b.broker;
        this.verifier = b.verifier;
        this.limits = b.limits;
        this.telemetry = b.telemetry;
        this.clock = b.clock;
        this.presence = b.presence;
        this.documents = Optional.ofNullable(b.documents);
        documents.ifPresent(d -> d.listen(new DocumentListener() {
            @Override
            public void changed(DocumentChange change) {
                publishChange(change);
            }

            @Override
            public void conflicted(ConflictRecord record) {
                // durable on the author's user channel: kept in the inbox until acknowledged
                publishDurable(Inbox.channel(record.tenant(), record.author()), new Draft(Publication.CONFLICT_TYPE,
                        record.toJson(), false, Optional.of("conflict-" + record.id()), Optional.empty()));
            }
        }));
        this.inbox = b.inbox;
        ScheduledThreadPoolExecutor timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-timers");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        this.scheduler = timers;
        long sweep = Math.max(1000, presence.limits().ttl().toMillis() / 2);
        scheduler.scheduleWithFixedDelay(() -> background(this::expirePresence), sweep, sweep, TimeUnit.MILLISECONDS);
    }

    /** A builder; {@link Builder#hub}, {@link Builder#broker} and {@link Builder#verifier} are required. */
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
     * ended, however it ended (peer close, our close, write failure, write timeout). The gateway
     * releases per-connection resources there.
     *
     * @param transport    the connection
     * @param upgradeToken the bearer token of the upgrade request, if any
     * @param onEnded      run once at the end; must not block
     * @return the session
     */
    public Session open(Transport transport, Optional<String> upgradeToken, Runnable onEnded) {
        Session session = new Session(newId(), this, transport, onEnded);
        sessions.put(session.id(), session);
        telemetry.connectionOpened();
        if (!accepting) {
            session.close(CloseCode.SERVICE_RESTART, "node is draining; reconnect to another node");
        }
        session.start(upgradeToken);
        return session;
    }

    /**
     * Publishes for a trusted caller (a service token or a backend) to one or more channels of
     * its tenant. All names are checked before anything is published.
     *
     * @throws ProtocolException {@code UNKNOWN_CHANNEL} for a bad name, {@code BAD_REQUEST} for a
     *                           bad type or no channel
     */
    public List<Publication> publish(String tenant, List<String> channels, String type, JsonNode data,
                                     Optional<String> eventId) {
        if (channels.isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "no channel given");
        }
        Draft.checkType(type);
        List<ChannelKey> keys = new ArrayList<>();
        for (String c : new LinkedHashSet<>(channels)) {
            keys.add(rules.resolve(tenant, c));
        }
        List<Publication> result = new ArrayList<>(keys.size());
        for (ChannelKey key : keys) {
            result.add(publishDurable(key, new Draft(type, data, false, eventId, Optional.empty())));
        }
        return result;
    }

    /**
     * Publishes through the broker and, for {@code user:} channels, keeps the publication in the
     * user's inbox until acknowledged.
     */
    Publication publishDurable(ChannelKey key, Draft draft) {
        if (draft.ephemeral() || !key.namespace().equals(Inbox.NAMESPACE)) {
            return broker.publish(key, draft);
        }
        // offset and inbox append as one step per user channel: an inbox ignores an offset that
        // arrives after a newer one, so two publishers must not interleave here
        java.util.concurrent.locks.Lock order = inbox.orderLock(key);
        order.lock();
        try {
            Publication p = broker.publish(key, draft);
            if (p.position().isPresent()) {
                inbox.append(key, p);
            }
            return p;
        } finally {
            order.unlock();
        }
    }

    /** Publishes an accepted document change to the document's channel and the ones its type names. */
    private void publishChange(DocumentChange change) {
        for (dev.tandem.channel.ChannelName name : change.channels()) {
            ChannelKey key;
            try {
                key = rules.resolve(change.tenant(), name.toString());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "tenant " + change.tenant() + ": change of "
                        + change.document().ref() + " names channel " + name + ", which is not valid: " + e.getMessage());
                continue;
            }
            Draft draft = new Draft(change.eventType(), change.document().toJson(), false,
                    Optional.of("doc-" + change.document().ref().type() + "-" + change.document().ref().id() + "-v"
                            + change.document().version()), Optional.of(change.document().updatedBy()));
            try {
                publishDurable(key, draft);
            } catch (RuntimeException e) {
                // committed already: keep trying in the background (a broker outage), not forever
                background(() -> retryPublish(key, draft, e));
            }
        }
    }

    private void retryPublish(ChannelKey key, Draft draft, RuntimeException first) {
        long pause = 200;
        for (int attempt = 1; attempt <= 8; attempt++) {
            try {
                Thread.sleep(pause);
                publishDurable(key, draft);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                pause = Math.min(10_000, pause * 2);
            }
        }
        LOG.log(System.Logger.Level.ERROR, "a committed document change could not be published to " + key
                + " (clients re-read with doc.get): " + first.getMessage());
    }

    /**
     * Takes a domain event from Kafka: a backend's answer to a relayed change goes to
     * {@link #changeStatus}, anything else is published to its channels with its event id.
     */
    public void ingest(String tenant, List<String> channels, dev.tandem.events.CloudEvent event) {
        if (event.type().startsWith(dev.tandem.kafka.KafkaIngest.CHANGE_STATUS_PREFIX)) {
            changeStatus(tenant, event);
        } else {
            publish(tenant, channels, event.type(), event.data(), Optional.of(event.id()));
        }
    }

    /**
     * Handles a backend's answer to a change Tandem relayed to Kafka ({@code tandem.change.confirmed}
     * or {@code tandem.change.rejected}, whose data names {@code author}, {@code docType},
     * {@code docId}, {@code version} and {@code opId}, copied from the change, plus {@code reason}
     * and, to undo a rejected change, {@code revert: true}). The author's devices get a durable
     * {@code change.confirmed} / {@code change.rejected} event on {@code user:{author}} (kept in the
     * inbox until acknowledged); a revert goes through the normal versioned path, so every
     * subscriber of the document sees it as a new version.
     *
     * @throws ProtocolException {@code BAD_REQUEST} for a malformed answer (dead-lettered)
     */
    void changeStatus(String tenant, dev.tandem.events.CloudEvent event) {
        String status = event.type().substring(dev.tandem.kafka.KafkaIngest.CHANGE_STATUS_PREFIX.length());
        if (!status.equals("confirmed") && !status.equals("rejected")) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown change status " + event.type()
                    + " (tandem.change.confirmed or tandem.change.rejected)");
        }
        JsonNode d = event.data();
        String author = text(d, "author");
        String docType = text(d, "docType");
        String docId = text(d, "docId");
        String opId = text(d, "opId");
        if (!dev.tandem.document.DocRef.isValid(docType, docId)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status names an invalid docType or docId");
        }
        if (!d.path("version").canConvertToLong()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status needs data.version");
        }
        long version = d.path("version").asLong();
        com.fasterxml.jackson.databind.node.ObjectNode body = codec.object()
                .put("status", status).put("docType", docType).put("docId", docId).put("version", version)
                .put("opId", opId).put("by", event.source());
        if (d.hasNonNull("reason")) {
            body.put("reason", d.get("reason").asText());
        }
        if (status.equals("rejected") && d.path("revert").asBoolean(false)) {
            Documents docs = documents.orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                    "documents are not enabled on this node"));
            Principal system = new Principal(tenant, "tandem", java.util.Set.of(), Map.of(), Optional.empty());
            body.set("revert", docs.revert(system, new dev.tandem.document.DocRef(docType, docId), version,
                    "revert:" + opId).toJson());
        }
        publishDurable(rules.resolve(tenant, Inbox.NAMESPACE + ":" + author),
                new Draft("change." + status, body, false, Optional.of(event.id()), Optional.empty()));
    }

    private static String text(JsonNode data, String field) {
        JsonNode v = data.get(field);
        if (v == null || !v.isTextual() || v.textValue().isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status needs data." + field);
        }
        return v.textValue();
    }

    /** Publishes a presence change (join, leave, state) to the channel's subscribers on every node. */
    void publishPresence(ChannelKey key, String kind, com.fasterxml.jackson.databind.node.ObjectNode data) {
        broker.publish(key, new Draft(Publication.PRESENCE_TYPE + kind, data, true, Optional.empty(), Optional.empty()));
    }

    void presenceJoined(ChannelKey key) {
        presenceChannels.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    void presenceLeft(ChannelKey key) {
        presenceChannels.computeIfPresent(key, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** Users whose connections all expired (a node died) leave, with a leave event where wanted. */
    private void expirePresence() {
        for (ChannelKey key : presenceChannels.keySet()) {
            try {
                List<String> gone = presence.expire(key);
                if (!gone.isEmpty() && rules.namespaceOf(key).joinLeave()) {
                    for (String user : gone) {
                        publishPresence(key, "leave", codec.object().put("user", user).put("expired", true));
                    }
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "presence expiry on " + key + " failed: " + e);
            }
        }
    }

    /** The executor (virtual threads) for network calls kept off timers and locks. */
    java.util.concurrent.Executor backgroundExecutor() {
        return background;
    }

    /** Runs a task that may block on the network off the caller's thread. */
    void background(Runnable task) {
        try {
            background.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "background task failed", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.log(System.Logger.Level.DEBUG, "engine closing; dropped a background task");
        }
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

    /** The channel rules. */
    public ChannelRules rules() {
        return rules;
    }

    /** The codec. */
    public FrameCodec codec() {
        return codec;
    }

    /** The connection limits. */
    public SessionLimits limits() {
        return limits;
    }

    /** The broker. */
    public Broker broker() {
        return broker;
    }

    /** The local hub. */
    public Hub hub() {
        return hub;
    }

    /** The document store, when documents are enabled on this node. */
    public Optional<Documents> documents() {
        return documents;
    }

    /** The presence store. */
    public PresenceStore presence() {
        return presence;
    }

    /** The user inboxes. */
    public Inbox inbox() {
        return inbox;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    TokenVerifier verifier() {
        return verifier;
    }

    Clock clock() {
        return clock;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    void sessionEnded(Session session, int closeCode) {
        if (sessions.remove(session.id()) != null) {
            telemetry.connectionClosed(closeCode);
        }
    }

    /** Stops timers and closes the broker. Call {@link #drain} first for a graceful stop. */
    @Override
    public void close() {
        background.shutdown();
        try {
            background.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        broker.close();
        presence.close();
        inbox.close();
        documents.ifPresent(Documents::close);
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
        private ChannelRules rules = ChannelRules.create();
        private Hub hub;
        private Broker broker;
        private TokenVerifier verifier;
        private SessionLimits limits = SessionLimits.DEFAULTS;
        private Telemetry telemetry = Telemetry.NOOP;
        private Clock clock = Clock.systemUTC();
        private PresenceStore presence;
        private Inbox inbox;
        private Documents documents;

        private Builder() {
        }

        /** The presence store (default: in memory). */
        public Builder presence(PresenceStore presence) {
            this.presence = Objects.requireNonNull(presence);
            return this;
        }

        /** The document store (default: none; document frames are then {@code unavailable}). */
        public Builder documents(Documents documents) {
            this.documents = Objects.requireNonNull(documents);
            return this;
        }

        /** The user inboxes (default: in memory). */
        public Builder inbox(Inbox inbox) {
            this.inbox = Objects.requireNonNull(inbox);
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

        /** The channel rules (default: built-in namespaces). */
        public Builder rules(ChannelRules rules) {
            this.rules = Objects.requireNonNull(rules);
            return this;
        }

        /** The local hub the broker delivers through. */
        public Builder hub(Hub hub) {
            this.hub = Objects.requireNonNull(hub);
            return this;
        }

        /** The broker. */
        public Builder broker(Broker broker) {
            this.broker = Objects.requireNonNull(broker);
            return this;
        }

        /** The token verifier. */
        public Builder verifier(TokenVerifier verifier) {
            this.verifier = Objects.requireNonNull(verifier);
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
            Objects.requireNonNull(hub, "hub");
            Objects.requireNonNull(broker, "broker");
            Objects.requireNonNull(verifier, "verifier");
            if (presence == null) {
                presence = MemoryPresenceStore.create();
            }
            if (inbox == null) {
                inbox = MemoryInbox.create();
            }
            return new Engine(this);
        }
    }
}
