package dev.tandem.operations;

import java.time.Clock;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.auth.MemoryRevocations;
import dev.tandem.auth.Revocations;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.broker.Broker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocumentAccess;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.document.Rejection;
import dev.tandem.document.Strategy;
import dev.tandem.inbox.Inbox;
import dev.tandem.inbox.MemoryInbox;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceListener;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.telemetry.Telemetry;

/**
 * Every client and service operation of a node, written and authorized once, by concept:
 * {@link Authentication} (who is calling), {@link Channels} (publishing, subscriptions, inbox
 * acknowledgements, domain events), {@link Presences} (who is on a channel),
 * {@link FleetControl} (disconnects and revocations) and {@link DocumentOperations}. Each
 * operation answers one {@link Result}: transports (the connection runtime, the REST API, the
 * Kafka ingest) only turn frames, requests and records into these calls and results back, so the
 * same operation gives the same answer on every transport.
 *
 * <p>Channel rules decide channels ({@link ChannelRules}), {@link DocumentAccess} decides
 * documents, service principals (the configured service role) act for their tenant;
 * {@link Hooks} let a backend take part after those checks. The ports (broker, presence store,
 * inboxes, documents, revocations) are given to it and stay their owner's: whoever opened them
 * closes them; {@link #close()} stops only the layer's own background work.
 *
 * <p>Thread-safe. Blocking calls (database, Redis) run on the caller's thread, which a transport
 * keeps off its selectors (virtual threads).
 */
public final class Operations implements AutoCloseable {
    private final Background background = new Background();
    private final java.util.List<DocumentListener> documentListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Parts parts;
    private final Authentication authentication;
    private final Channels channels;
    private final FleetControl fleet;
    private final DocumentOperations documents;

    private Operations(Builder b) {
        Optional<Documents> store = Optional.ofNullable(b.documents);
        Revocations revocations = b.revocations == null ? new MemoryRevocations(b.clock) : b.revocations;
        Publisher publisher = new Publisher(b.broker, b.inbox, b.rules, b.codec, background);
        Telemetry telemetry = b.telemetry;
        // what a committed write tells, once its author has been answered
        DocumentListener committed = new DocumentListener() {
            @Override
            public void changed(DocumentChange change) {
                change.strategy().ifPresent(st -> telemetry.conflict(st.wire()));
                publisher.changed(change);
                heard(l -> l.changed(change));
            }

            @Override
            public void conflicted(ConflictRecord conflict) {
                telemetry.conflict(Strategy.MANUAL.wire());
                publisher.conflicted(conflict);
                heard(l -> l.conflicted(conflict));
            }

            @Override
            public void rejected(Rejection rejection) {
                heard(l -> l.rejected(rejection)); // its notice was published by ChangeStatuses
            }
        };
        Presences presences = new Presences(b.presence, b.rules, publisher, b.codec, b.telemetry, background,
                b.presenceListener);
        this.parts = new Parts(b.rules, b.broker, b.inbox, b.codec, b.telemetry, b.hooks, background, publisher,
                presences, new UserChannels(b.limits.maxChannelsPerUser()),
                store.map(d -> new DocumentOps(d, b.access, b.hooks, b.broker, b.rules, b.codec, b.limits, b.serviceRole,
                        committed, Cursors.create(b.cursorSecret))));
        this.authentication = new Authentication(b.verifier, b.clock, revocations, b.hooks, b.serviceRole);
        this.channels = new Channels(parts, store, committed);
        this.fleet = new FleetControl(revocations, b.clock, b.maxTokenLifetime, b.codec, b.telemetry);
        this.documents = new DocumentOperations(parts, documentListeners::add);
    }

    /** Tells the listeners added through {@link DocumentOperations#listen} (push notices), each on its own. */
    private void heard(java.util.function.Consumer<DocumentListener> tell) {
        for (DocumentListener l : documentListeners) {
            try {
                tell.accept(l);
            } catch (RuntimeException e) {
                System.getLogger(Operations.class.getName()).log(System.Logger.Level.WARNING,
                        "a document listener failed", dev.tandem.telemetry.LogText.scrub(e));
            }
        }
    }

    /** A builder; {@link Builder#broker} and {@link Builder#verifier} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** Who is calling: tokens of connections, requests and services. */
    public Authentication authentication() {
        return authentication;
    }

    /** Publishing, subscriptions, inbox acknowledgements, domain events. */
    public Channels channels() {
        return channels;
    }

    /** Who is on a channel. */
    public Presences presence() {
        return parts.presences();
    }

    /** Disconnects and revocations. */
    public FleetControl fleet() {
        return fleet;
    }

    /** Documents and their conflicts. */
    public DocumentOperations documents() {
        return documents;
    }

    /** What the concepts share (tests of this package). */
    Parts parts() {
        return parts;
    }

    /** Stops the layer's background work (presence calls and sweeps); the ports stay open. */
    @Override
    public void close() {
        background.close();
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
        private Optional<String> cursorSecret = Optional.empty();
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

        /**
         * The secret paging cursors are encrypted under ({@code tandem.documents.cursor-secret},
         * at least 32 characters, the same on every node of a cluster); default: one drawn per
         * node at start.
         */
        public Builder cursorSecret(Optional<String> cursorSecret) {
            this.cursorSecret = Objects.requireNonNull(cursorSecret);
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
