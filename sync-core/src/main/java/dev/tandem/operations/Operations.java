package dev.tandem.operations;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.auth.MemoryRevocations;
import dev.tandem.auth.Revocations;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenRevokedException;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.document.DocumentAccess;
import dev.tandem.document.Documents;
import dev.tandem.events.CloudEvent;
import dev.tandem.hub.Publication;
import dev.tandem.inbox.AckResult;
import dev.tandem.inbox.Inbox;
import dev.tandem.inbox.MemoryInbox;
import dev.tandem.kafka.KafkaIngest;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceListener;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * Every client and service operation of a node, written and authorized once, each answering
 * one {@link Result}: the WebSocket session, the REST API (and any later transport) only turn
 * frames and requests into these calls and results back into frames and responses, so the same
 * operation gives the same answer on every transport.
 *
 * <p>What a connection keeps between calls (its subscriptions, presence memberships, the merge
 * of inbox and recovery on subscribe) lives in the {@link Subscriptions} this layer hands out
 * per connection, not in a transport. Channel rules decide channels ({@link ChannelRules}),
 * {@link DocumentAccess} decides documents, service principals (the configured service role)
 * act for their tenant; {@link Hooks} let a backend take part after those checks. Failures
 * inside are answered, never thrown: a refused request with its code, an unexpected failure as
 * {@code internal} after it was logged with its context.
 *
 * <p>Thread-safe. Blocking calls (database, Redis) run on the caller's thread, which a transport
 * keeps off its selectors (virtual threads).
 */
public final class Operations implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Operations.class.getName());
    /** The latest expiry a token may name (the end of year 9999). */
    private static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59Z");

    private final ChannelRules rules;
    private final Broker broker;
    private final PresenceStore presenceStore;
    private final Inbox inbox;
    private final Optional<Documents> documents;
    private final Optional<DocumentOps> docs;
    private final TokenVerifier verifier;
    private final FrameCodec codec;
    private final Telemetry telemetry;
    private final Clock clock;
    private final String serviceRole;
    private final Hooks hooks;
    private final DocumentAccess access;
    private final Background background = new Background();
    private final Publisher publisher;
    private volatile Runnable pacer = () -> { };
    private final Presences presences;
    private final ChangeStatuses changeStatuses;
    private final Revocations revocations;
    private final java.time.Duration maxTokenLifetime;
    private final UserChannels userChannels;
    private final AdmittedTokens admittedTokens;

    private Operations(Builder b) {
        this.rules = b.rules;
        this.broker = b.broker;
        this.presenceStore = b.presence;
        this.inbox = b.inbox;
        this.documents = Optional.ofNullable(b.documents);
        this.verifier = b.verifier;
        this.codec = b.codec;
        this.telemetry = b.telemetry;
        this.clock = b.clock;
        this.serviceRole = b.serviceRole;
        this.hooks = b.hooks;
        this.access = b.access;
        this.revocations = b.revocations == null ? new MemoryRevocations(b.clock) : b.revocations;
        this.maxTokenLifetime = b.maxTokenLifetime;
        this.userChannels = new UserChannels(b.limits.maxChannelsPerUser());
        this.admittedTokens = new AdmittedTokens(b.clock);
        this.publisher = new Publisher(broker, inbox, rules, codec, background);
        this.presences = new Presences(presenceStore, rules, publisher, codec, background, b.presenceListener);
        this.docs = documents.map(d -> new DocumentOps(d, access, hooks, broker, rules, codec, b.limits, serviceRole));
        this.changeStatuses = new ChangeStatuses(rules, codec, publisher, documents);
        documents.ifPresent(d -> d.listen(publisher));
        documents.ifPresent(d -> d.listen(new dev.tandem.document.DocumentListener() {
            @Override
            public void changed(dev.tandem.document.DocumentChange change) {
                change.strategy().ifPresent(st -> telemetry.conflict(st.wire()));
            }

            @Override
            public void conflicted(dev.tandem.document.ConflictRecord conflict) {
                telemetry.conflict(dev.tandem.document.Strategy.MANUAL.wire());
            }
        }));
    }

    /** A builder; {@link Builder#broker} and {@link Builder#verifier} are required. */
    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ authentication

    /**
     * Verifies a client's token (a {@code connect}, {@code refresh} or upgrade header) and lets
     * the {@link Hooks#connect} hook see the principal.
     *
     * @return the principal and the channels the backend subscribes the connection to
     * @throws TokenExpiredException when the token has expired (the client should fetch a new one)
     * @throws ProtocolException     {@code UNAUTHORIZED} for a token that is not acceptable,
     *                               {@code FORBIDDEN} when the backend refuses,
     *                               {@code UNAVAILABLE} when the backend cannot be asked
     */
    public Hooks.Admitted authenticate(String token) {
        return hooks.connect(verify(token));
    }

    /**
     * Verifies an event stream's token and lets the {@link Hooks#connect} hook see the principal,
     * as {@link #authenticate}; the hook's answer is kept for the token's requests that reach this
     * node apart from the stream ({@link #admitRequest}), so they are not asked about again.
     */
    public Hooks.Admitted authenticateStream(String token) {
        Principal p = verify(token);
        Hooks.Admitted admitted = hooks.connect(p);
        admittedTokens.keep(token, p, admitted.principal());
        return admitted;
    }

    /**
     * Verifies the token of a request made on behalf of a connection this node holds (an event
     * stream's POST): the connection's principal, which its connect hook admitted, is the one
     * that acts; the token only has to be valid.
     *
     * @throws ProtocolException {@code UNAUTHORIZED} for a token that is not acceptable (or expired, revoked)
     */
    public Principal verifyRequest(String token) {
        return verify(token);
    }

    /**
     * Verifies the token of a request whose connection is not on this node (an event stream's
     * POST that reached another node): the principal the {@link Hooks#connect} hook admitted for
     * this token, asked once per token on this node (see {@link AdmittedTokens}), not per request.
     *
     * @throws ProtocolException as {@link #authenticate}
     */
    public Principal admitRequest(String token) {
        Principal p = verify(token);
        return admittedTokens.admitted(token, p, v -> hooks.connect(v).principal());
    }

    /**
     * Verifies a service's token for the REST API.
     *
     * @throws ProtocolException {@code UNAUTHORIZED} for a token that is not acceptable,
     *                           {@code FORBIDDEN} without the service role
     */
    public Principal authenticateService(String token) {
        Principal p = verify(token);
        if (!p.hasRole(serviceRole)) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "the service API needs the '" + serviceRole + "' role");
        }
        return p;
    }

    /**
     * The one check of a token, for clients and services alike: the verifier (signature,
     * issuer, audience, claims), then the expiry (in range, not past) and the revocations.
     */
    private Principal verify(String token) {
        Principal p = verifier.verify(token);
        Optional<Instant> exp = p.expiresAt();
        if (exp.isPresent() && exp.get().isAfter(LATEST_EXPIRY)) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "token expiry out of range");
        }
        if (p.expiredAt(clock.instant())) {
            throw new TokenExpiredException();
        }
        if (revocations.revoked(p)) {
            throw new TokenRevokedException();
        }
        return p;
    }

    /**
     * Backpressure for service publications: {@code pacer} runs after a service's publications
     * were handed to the local subscribers, before the call answers, and may block until the
     * node's socket writers have caught up (the session engine installs it). Default: none.
     */
    public void paceServicePublishes(Runnable pacer) {
        this.pacer = java.util.Objects.requireNonNull(pacer, "pacer");
    }

    /** Tells {@code listener} of every revocation and disconnect, from any node (transports close connections). */
    public void onNotice(java.util.function.Consumer<Revocations.Notice> listener) {
        revocations.listen(listener);
    }

    // ------------------------------------------------------------------ fleet control (service)

    /**
     * Closes every connection of the user in the service's tenant, on every node (4005; its
     * tokens stay valid). Answers {@code {"user"}}.
     */
    public Result disconnectUser(Principal service, String user) {
        return answer(service, "disconnect", () -> {
            requireId(user, "user");
            revocations.disconnectUser(service.tenant(), user);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " disconnected user " + user);
            return codec.object().put("user", user);
        });
    }

    /**
     * Revokes a token by its id ({@code jti}) in the service's tenant: its connections close with
     * 4004 on every node and it cannot connect again until {@code expiresAt} (default now plus
     * the longest token lifetime). Answers {@code {"jti","until"}}.
     */
    public Result revokeToken(Principal service, String tokenId, Optional<Instant> expiresAt) {
        return answer(service, "revoke", () -> {
            if (tokenId.isEmpty() || tokenId.length() > 256 || tokenId.chars().anyMatch(Character::isISOControl)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "'jti' must have 1-256 characters, no control characters");
            }
            Instant until = keepUntil(expiresAt);
            revocations.revokeToken(service.tenant(), tokenId, until);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " revoked token " + LogText.safe(tokenId));
            return codec.object().put("jti", tokenId).put("until", until.toString());
        });
    }

    /**
     * Revokes every token of a user issued before {@code issuedBefore} (default now) in the
     * service's tenant, until {@code until} (default now plus the longest token lifetime).
     * Answers {@code {"user","issuedBefore","until"}}.
     */
    public Result revokeUser(Principal service, String user, Optional<Instant> issuedBefore, Optional<Instant> until) {
        return answer(service, "revoke", () -> {
            requireId(user, "user");
            // by default, tokens issued before the current second: iat counts whole seconds, so a
            // token a client fetches right after this (in the same second) is not revoked with them
            Instant before = issuedBefore.orElseGet(() -> clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            Instant keep = keepUntil(until);
            revocations.revokeUser(service.tenant(), user, before, keep);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " revoked the tokens of user " + user + " issued before " + before);
            return codec.object().put("user", user).put("issuedBefore", before.toString()).put("until", keep.toString());
        });
    }

    private Instant keepUntil(Optional<Instant> given) {
        Instant now = clock.instant();
        Instant until = given.orElse(now.plus(maxTokenLifetime));
        if (!until.isAfter(now)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "the revocation would end in the past");
        }
        return until.isAfter(LATEST_EXPIRY) ? LATEST_EXPIRY : until;
    }

    private static void requireId(String id, String what) {
        if (!ChannelName.isValidId(id)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "'" + what + "' is not a valid id");
        }
    }

    /**
     * The subscription state of a new, authenticated connection.
     *
     * @param connectionId the connection's id (presence counts connections by it)
     * @param principal    who it is; replace with {@link Subscriptions#refresh}
     * @param delivery     where its publications go
     * @param max          how many channels it may subscribe to ({@code limit_exceeded} beyond)
     */
    public Subscriptions subscriptions(String connectionId, Principal principal, Delivery delivery, int max) {
        return new Subscriptions(this, connectionId, principal, delivery, max);
    }

    // ------------------------------------------------------------------ channels

    /**
     * {@code publish} from a client: the namespace's rules, ephemeral-only namespaces, the type,
     * then the {@link Hooks#publish} hook. Answers {@code {channel, eventId, epoch, offset}}.
     */
    public Result publish(Principal who, ClientFrame.Publish p) {
        return answer(who, "publish", () -> {
            ChannelKey key = rules.authorize(who, p.channel(), ChannelRules.Action.PUBLISH);
            Namespace ns = rules.namespaceOf(key);
            if (ns.ephemeralOnly() && !p.ephemeral()) {
                throw new ProtocolException(ErrorCode.FORBIDDEN, "clients may only publish ephemeral events to "
                        + ns.name() + ": channels");
            }
            Draft.checkType(p.type());
            Draft draft = hooks.publish(who, key, new Draft(p.type(), p.data(), p.ephemeral(), Optional.empty(),
                    Optional.of(who.user())));
            Publication pub = publisher.publish(key, draft);
            ObjectNode body = codec.object().put("channel", p.channel()).put("eventId", pub.eventId());
            pub.position().ifPresent(pos -> body.put("epoch", pos.epoch()).put("offset", pos.offset()));
            return body;
        });
    }

    /**
     * Publishes for a service (REST) to channels of its tenant; every name is checked before
     * anything is published. Answers {@code {"publications":[{channel, eventId, epoch, offset}]}}.
     */
    public Result servicePublish(Principal service, List<String> channels, String type, JsonNode data,
                                 Optional<String> eventId) {
        Result result = answer(service, "publish", () -> published(publishAll(service.tenant(), channels, type, data, eventId)));
        if (result instanceof Result.Ok) {
            pacer.run(); // a refused publish fanned nothing out: nothing to wait for
        }
        return result;
    }

    /** Publishes for a service to {@code user:{user}} (kept in the user's inbox until acknowledged). */
    public Result sendToUser(Principal service, String user, String type, JsonNode data, Optional<String> eventId) {
        return answer(service, "send", () -> {
            if (!ChannelName.isValidId(user)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "invalid user id");
            }
            return published(publishAll(service.tenant(), List.of(Inbox.NAMESPACE + ":" + user), type, data, eventId));
        });
    }

    private List<Publication> publishAll(String tenant, List<String> channels, String type, JsonNode data,
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
            result.add(publisher.publish(key, new Draft(type, data, false, eventId, Optional.empty())));
        }
        return result;
    }

    private ObjectNode published(List<Publication> publications) {
        ObjectNode answer = codec.object();
        ArrayNode list = answer.putArray("publications");
        for (Publication p : publications) {
            ObjectNode o = list.addObject().put("channel", p.channel().name().toString()).put("eventId", p.eventId());
            p.position().ifPresent(pos -> o.put("epoch", pos.epoch()).put("offset", pos.offset()));
        }
        return answer;
    }

    /** Who is on a channel, for a service: {@code {"channel","members":[…]}}. */
    public Result presenceMembers(Principal service, String channel) {
        return answer(service, "presence", () -> {
            ChannelKey key = rules.resolve(service.tenant(), channel);
            if (!rules.namespaceOf(key).presence()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "channels of '" + key.namespace()
                        + "' have no presence");
            }
            return codec.object().put("channel", key.name().toString()).set("members", presences.members(key));
        });
    }

    /**
     * Acknowledges inbox messages up to an offset ({@code ack}); with an epoch the inbox no
     * longer has, {@code conflict} and nothing changes. Answers {@code {channel, acknowledged, remaining}}.
     */
    public Result ack(Principal who, ClientFrame.Ack a) {
        return answer(who, "ack", () -> {
            ChannelKey key = rules.authorize(who, a.channel(), ChannelRules.Action.SUBSCRIBE);
            if (!key.namespace().equals(Inbox.NAMESPACE)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "ack is for user: channels (inboxes)");
            }
            if (a.epoch().isPresent()) {
                Optional<String> current = inbox.epoch(who.tenant(), key.name().id());
                if (current.isPresent() && !current.get().equals(a.epoch().get())) {
                    throw new ProtocolException(ErrorCode.CONFLICT, "the inbox's history changed (its epoch is no "
                            + "longer the one acknowledged); nothing was acknowledged: resubscribe to " + a.channel());
                }
            }
            AckResult r = inbox.ack(who.tenant(), key.name().id(), a.offset());
            return codec.object().put("channel", a.channel()).put("acknowledged", r.acknowledged())
                    .put("remaining", r.remaining());
        });
    }

    /**
     * A user's sync state for a service: {@code {"user","inbox":{"depth","ttl"},"openConflicts"}}
     * (open conflicts counted by the database).
     */
    public Result syncState(Principal service, String user) {
        return answer(service, "sync-state", () -> {
            if (!ChannelName.isValidId(user)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "'user' is not a valid id");
            }
            ObjectNode body = codec.object().put("user", user);
            body.putObject("inbox").put("depth", inbox.depth(service.tenant(), user)).put("ttl", inbox.ttl().toString());
            body.put("openConflicts", docs().openConflicts(service, user));
            return body;
        });
    }

    /**
     * {@code presence} without a state, from a client: who is on a channel the caller may
     * subscribe to ({@code {channel, members}}).
     */
    public Result presence(Principal who, String channel) {
        return answer(who, "presence", () -> {
            ChannelKey key = rules.authorize(who, channel, ChannelRules.Action.SUBSCRIBE);
            if (!rules.namespaceOf(key).presence()) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "channels of '" + key.namespace()
                        + "' have no presence");
            }
            return codec.object().put("channel", channel).set("members", presences.members(key));
        });
    }

    // ------------------------------------------------------------------ documents

    /** {@code doc.get}: {@code {"document": …}}; {@code forbidden} when the caller may not read it. */
    public Result getDocument(Principal who, String type, String id) {
        return answer(who, "doc.get", () -> docs().get(who, type, id));
    }

    /** {@code doc.query}: one page and the position of the type's channel for the field. */
    public Result queryDocuments(Principal who, ClientFrame.DocQuery query) {
        return answer(who, "doc.query", () -> docs().query(who, query));
    }

    /** {@code doc.update}: the op's result ({@code applied}, {@code merged}, … {@code rejected}). */
    public Result updateDocument(Principal who, ClientFrame.DocUpdate update) {
        return answer(who, "doc.update", () -> docs().update(who, update));
    }

    /** {@code sync}: {@code {"results": […]}}, one per op, in order. */
    public Result sync(Principal who, List<ClientFrame.DocUpdate> ops) {
        return answer(who, "sync", () -> docs().sync(who, ops));
    }

    /** {@code conflict.resolve}: {@code {result, conflictId, version, document, conflict}}. */
    public Result resolveConflict(Principal who, String conflictId, String resolution, Optional<JsonNode> data) {
        return answer(who, "conflict.resolve", () -> docs().resolve(who, conflictId, resolution, data));
    }

    /** The tenant's conflicts the caller may resolve, newest first: {@code {"conflicts": […]}}. */
    public Result listConflicts(Principal who, Optional<String> type, Optional<String> status, int limit) {
        return answer(who, "conflicts", () -> docs().listConflicts(who, type, status, limit));
    }

    /** One conflict record. */
    public Result getConflict(Principal who, String conflictId) {
        return answer(who, "conflict", () -> docs().getConflict(who, conflictId));
    }

    DocumentOps docs() {
        return docs.orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                "documents are not enabled on this node"));
    }

    Optional<DocumentOps> documentOps() {
        return docs;
    }

    // ------------------------------------------------------------------ Kafka

    /**
     * Takes a domain event from Kafka: a backend's answer to a relayed change
     * ({@code tandem.change.confirmed} / {@code .rejected}) goes to its author's inbox (and a
     * revert through the versioned path), anything else is published to its channels with its
     * event id, once per channel.
     *
     * @throws ProtocolException {@code BAD_REQUEST} and the like for an event to dead-letter,
     *                           {@code UNAVAILABLE} for one to retry
     */
    public void ingest(String tenant, List<String> channels, CloudEvent event) {
        if (event.type().startsWith(KafkaIngest.CHANGE_STATUS_PREFIX)) {
            changeStatuses.handle(tenant, event);
        } else {
            publishAll(tenant, channels, event.type(), event.data(), Optional.of(event.id()));
        }
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * Runs an operation: a body is {@link Result.Ok}, a {@link ProtocolException} its
     * {@link Result.Failed}, anything else is logged with its context and answered
     * {@code internal}.
     */
    Result answer(Principal who, String op, Supplier<ObjectNode> work) {
        try {
            return new Result.Ok(work.get());
        } catch (ProtocolException e) {
            telemetry.error(e.code());
            return Result.failed(e);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "tenant " + who.tenant() + " user " + who.user() + ": " + op + " failed",
                    LogText.scrub(e));
            telemetry.error(ErrorCode.INTERNAL);
            return new Result.Failed(ErrorCode.INTERNAL, "internal error; see the server log");
        }
    }

    ChannelRules rules() {
        return rules;
    }

    Broker broker() {
        return broker;
    }

    Inbox inbox() {
        return inbox;
    }

    Presences presences() {
        return presences;
    }

    Background background() {
        return background;
    }

    Hooks hooks() {
        return hooks;
    }

    FrameCodec codec() {
        return codec;
    }

    Telemetry telemetry() {
        return telemetry;
    }

    UserChannels userChannels() {
        return userChannels;
    }

    /** Stops background work and closes the ports (broker, presence, inbox, documents). */
    @Override
    public void close() {
        background.close();
        revocations.close();
        broker.close();
        presenceStore.close();
        inbox.close();
        documents.ifPresent(Documents::close);
    }

    /** Builds {@link Operations}. */
    public static final class Builder {
        private ChannelRules rules = ChannelRules.create();
        private Broker broker;
        private PresenceStore presence;
        private Inbox inbox;
        private Documents documents;
        private TokenVerifier verifier;
        private FrameCodec codec = FrameCodec.create();
        private OperationLimits limits = OperationLimits.DEFAULTS;
        private Telemetry telemetry = Telemetry.NOOP;
        private Clock clock = Clock.systemUTC();
        private String serviceRole = "service";
        private Hooks hooks = Hooks.NONE;
        private PresenceListener presenceListener = PresenceListener.NONE;
        private Revocations revocations;
        private java.time.Duration maxTokenLifetime = java.time.Duration.ofDays(1);
        private DocumentAccess access = DocumentAccess.defaults();

        private Builder() {
        }

        /** The channel rules (default: built-in namespaces). */
        public Builder rules(ChannelRules rules) {
            this.rules = Objects.requireNonNull(rules);
            return this;
        }

        /** The broker. */
        public Builder broker(Broker broker) {
            this.broker = Objects.requireNonNull(broker);
            return this;
        }

        /** The presence store (default: in memory). */
        public Builder presence(PresenceStore presence) {
            this.presence = Objects.requireNonNull(presence);
            return this;
        }

        /** The user inboxes (default: in memory). */
        public Builder inbox(Inbox inbox) {
            this.inbox = Objects.requireNonNull(inbox);
            return this;
        }

        /** The document store (default: none; document operations are then {@code unavailable}). */
        public Builder documents(Documents documents) {
            this.documents = Objects.requireNonNull(documents);
            return this;
        }

        /** Who may do what with documents (default: {@link DocumentAccess#defaults()}). */
        public Builder access(DocumentAccess access) {
            this.access = Objects.requireNonNull(access);
            return this;
        }

        /** The token verifier. */
        public Builder verifier(TokenVerifier verifier) {
            this.verifier = Objects.requireNonNull(verifier);
            return this;
        }

        /** The codec (default: {@link FrameCodec#create()}). */
        public Builder codec(FrameCodec codec) {
            this.codec = Objects.requireNonNull(codec);
            return this;
        }

        /** The limits (default: {@link OperationLimits#DEFAULTS}). */
        public Builder limits(OperationLimits limits) {
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

        /** The role of service principals, which act for their tenant (default {@code service}). */
        public Builder serviceRole(String serviceRole) {
            this.serviceRole = Objects.requireNonNull(serviceRole);
            return this;
        }

        /** The backend hooks (default: {@link Hooks#NONE}). */
        public Builder hooks(Hooks hooks) {
            this.hooks = Objects.requireNonNull(hooks);
            return this;
        }

        /** Who is told about presence joins and leaves besides subscribers (default: nobody). */
        public Builder presenceListener(PresenceListener listener) {
            this.presenceListener = Objects.requireNonNull(listener);
            return this;
        }

        /** Revoked tokens and disconnects (default: in memory, this node only). */
        public Builder revocations(Revocations revocations) {
            this.revocations = Objects.requireNonNull(revocations);
            return this;
        }

        /**
         * How long a revocation is kept when the caller does not say (the longest lifetime a token
         * may have; default one day).
         */
        public Builder maxTokenLifetime(java.time.Duration lifetime) {
            if (lifetime.isNegative() || lifetime.isZero()) {
                throw new IllegalArgumentException("max-token-lifetime must be positive");
            }
            this.maxTokenLifetime = lifetime;
            return this;
        }

        /** The operations. */
        public Operations build() {
            Objects.requireNonNull(broker, "broker");
            Objects.requireNonNull(verifier, "verifier");
            if (presence == null) {
                presence = MemoryPresenceStore.create();
            }
            if (inbox == null) {
                inbox = MemoryInbox.create();
            }
            return new Operations(this);
        }
    }
}
