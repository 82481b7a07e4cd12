package dev.tandem.gateway;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.tandem.channel.ChannelRules;
import dev.tandem.document.DocumentAccess;
import dev.tandem.events.CloudEventCodec;
import dev.tandem.hooks.HookSettings;
import dev.tandem.hooks.HttpHooks;
import dev.tandem.hooks.WebhookSettings;
import dev.tandem.hooks.Webhooks;
import dev.tandem.hub.Hub;
import dev.tandem.kafka.KafkaIngest;
import dev.tandem.kafka.KafkaSettings;
import dev.tandem.operations.Hooks;
import dev.tandem.operations.OperationLimits;
import dev.tandem.operations.Operations;
import dev.tandem.presence.PresenceListener;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.session.Engine;
import dev.tandem.session.FleetLimits;
import dev.tandem.session.SessionLimits;

import io.helidon.config.Config;
import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.observe.metrics.MetricsObserver;
import io.helidon.webserver.websocket.WsRouting;

/**
 * A running Tandem gateway node: the Helidon WebServer with the {@code /ws} and {@code /sse}
 * endpoints, the service API, health and metrics. It is the composition root: it opens the
 * backing parts ({@link Backends}, which also closes them), wires them into the
 * {@link Operations} layer, and the transports onto it (WebSocket connections and SSE streams as
 * sessions of one {@link Engine}, the REST API); the decisions live in sync-core and the module
 * libraries.
 *
 * <p>Standalone mode (the default) runs the engine on the in-memory broker. {@link #stop()}
 * drains gracefully: readiness goes DOWN, clients are told to reconnect elsewhere and closed
 * with 1012, then the server stops.
 */
public final class Gateway implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Gateway.class.getName());

    private final Engine engine;
    private final Operations operations;
    private final FrameCodec codec;
    private final Hub hub;
    private final ConnectionWatch connectionWatch = new ConnectionWatch(100);
    private final JwtVerifier verifier;
    private final WebServer server;
    private final Origins origins;
    private final Duration drainTimeout;
    private final ScheduledExecutorService housekeeping;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final Optional<KafkaSettings> kafka;
    private final boolean servesDemo;
    private final Backends backends;
    private final Hooks hooks;
    private final Optional<Webhooks> webhooks;
    private final HttpFraming framing;
    private final GatewayTelemetry telemetry;
    private volatile Optional<KafkaIngest> ingest = Optional.empty();
    private volatile Optional<dev.tandem.kafka.OutboxRelay> relay = Optional.empty();
    private volatile Optional<Pushing> pushing = Optional.empty();

    private Gateway(Config root) {
        ServerLogFilter.install();
        Config tandem = root.get("tandem");
        boolean devMode = tandem.get("dev-mode").asBoolean().orElse(false);
        this.verifier = JwtVerifier.create(tandem.get("auth"), devMode);
        this.origins = new Origins(Set.copyOf(ConfigLists.strings(tandem.get("origins"), List.of())));
        this.drainTimeout = tandem.get("drain-timeout").as(Duration.class).orElse(Duration.ofSeconds(20));
        if (verifier.trustsDevelopmentSecret()) {
            LOG.log(System.Logger.Level.WARNING, "development mode: HS256 tokens signed with the public development "
                    + "secret are trusted, so anyone can mint tokens. Never expose this node.");
        }

        this.kafka = KafkaSettings.create(tandem.get("kafka"));
        FrameCodec codec = FrameCodec.create();
        this.codec = codec;
        PushApi pushApi = new PushApi(this::operations, () -> pushing, codec,
                tandem.get("auth.service-role").asString().orElse("service"));
        HttpRouting.Builder http = HttpRouting.builder().addFilter(new Cors(origins, codec)).register("/api/v1", pushApi)
                .register("/api/v1", new RestApi(this::operations, this::engine, codec, pushApi))
                .register("/sse", new SseEndpoint(this::engine, this::operations, codec,
                        SessionLimits.create(tandem.get("limits"))))
                .register("/contracts", ContractsService.fromClasspath());
        Optional<java.nio.file.Path> demoDir = devMode ? tandem.get("demo.dir").asString().asOptional()
                .filter(s -> !s.isBlank()).map(java.nio.file.Path::of) : Optional.empty();
        if (devMode) {
            http.register("/demo", new DemoService(demoDir, codec));
        }
        this.servesDemo = StartPage.servesBoard(demoDir);
        http.get("/", new StartPage(servesDemo));
        this.framing = new HttpFraming(tandem.get("http.header-timeout").as(Duration.class)
                .orElse(Duration.ofSeconds(10)));
        int wsFrameLimit = Math.max(1 << 20, SessionLimits.create(tandem.get("limits")).maxFrameBytes() + 1024);
        this.server = WebServer.builder()
                .config(root.get("server"))
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .directHandlers(RestApi.directHandlers(codec))
                .addProtocol(io.helidon.webserver.http1.Http1Config.builder()
                        .config(root.get("server.protocols.http_1_1"))
                        .addReceiveListener(framing)
                        .build())
                .addProtocol(io.helidon.webserver.websocket.WsConfig.builder()
                        .maxFrameLength(root.get("server.protocols.websocket.max-frame-length").asInt()
                                .orElse(wsFrameLimit))
                        .build())
                .addFeature(ObserveFeature.builder()
                        .endpoint("/")
                        .addObserver(HealthObserver.builder()
                                .details(true)
                                .addCheck(() -> HealthCheckResponse.builder()
                                        .status(engine().accepting())
                                        .detail("connections", engine().sessionCount())
                                        .detail("node", engine().nodeId())
                                        .build(), HealthCheckType.READINESS, "engine")
                                .addCheck(() -> HealthCheckResponse.builder()
                                        .status(!stopped.get() || engine().sessionCount() > 0)
                                        .build(), HealthCheckType.LIVENESS, "node")
                                .addCheck(() -> kafkaHealth(), HealthCheckType.READINESS, "kafka")
                                .addCheck(() -> backends().redisHealth(), HealthCheckType.READINESS, "redis")
                                .addCheck(() -> HealthCheckResponse.builder()
                                        .status(backends().broker.delivering())
                                        .build(), HealthCheckType.READINESS, "broker")
                                .addCheck(() -> backends().databaseHealth(), HealthCheckType.READINESS,
                                        "database")
                                .build())
                        .addObserver(MetricsObserver.create())
                        .build())
                .routing(http)
                .addRouting(WsRouting.builder().endpoint("/ws", () -> new WsEndpoint(this)))
                .build();

        // meters after the server is built: the metrics observer may replace the global registry
        // the health checks and gauges read engine() and backends() when called, once both exist
        // tandem_connections: WebSocket connections and SSE streams, sessions alike
        GatewayTelemetry telemetry = new GatewayTelemetry(() -> engine() == null ? 0 : engine().sessionCount(),
                Set.copyOf(ConfigLists.strings(tandem.get("metrics.tenants"), List.of())));
        ChannelRules rules = ChannelRules.create(tandem.get("channels"));
        this.telemetry = telemetry;
        this.hub = new Hub(codec, telemetry);
        // settings checked before anything is opened that would have to be closed again
        HookSettings hookSettings = HookSettings.create(tandem.get("hooks"));
        Optional<WebhookSettings> webhookSettings = WebhookSettings.create(tandem);
        String nodeId = tandem.get("node-id").asString().orElseGet(Gateway::defaultNodeId);
        this.backends = Backends.create(tandem, hub, rules, telemetry, Clock.systemUTC());
        this.hooks = HttpHooks.create(hookSettings, codec.mapper(), telemetry, Clock.systemUTC());
        this.webhooks = webhookSettings.map(w -> Webhooks.start(w, Optional.of(backends.documentStore.webhookOutbox()),
                nodeId + "/" + java.util.UUID.randomUUID(), codec.mapper(), telemetry, Clock.systemUTC()));
        webhooks.ifPresent(w -> telemetry.webhooks(w::backlog));
        Operations ops = null;
        Engine built = null;
        ScheduledExecutorService timers = null;
        try {
            ops = Operations.builder()
                    .rules(rules)
                    .broker(backends.broker)
                    .presence(backends.presence)
                    .inbox(backends.inbox)
                    .documents(backends.documentStore)
                    .access(DocumentAccess.create(tandem.get("documents.types")))
                    .verifier(verifier)
                    .codec(codec)
                    .limits(OperationLimits.create(tandem.get("limits")))
                    .telemetry(telemetry)
                    .serviceRole(tandem.get("auth.service-role").asString().orElse("service"))
                    .cursorSecret(tandem.get("documents.cursor-secret").asString().asOptional().filter(v -> !v.isBlank()))
                    .hooks(hooks)
                    .presenceListener(webhooks.<PresenceListener>map(w -> w).orElse(PresenceListener.NONE))
                    .revocations(backends.revocations)
                    .maxTokenLifetime(tandem.get("auth.max-token-lifetime").as(Duration.class).orElse(Duration.ofDays(1)))
                    .build();
            this.operations = ops;
            built = Engine.builder()
                    .nodeId(nodeId)
                    .codec(codec)
                    .operations(ops)
                    .rules(rules)
                    .limits(SessionLimits.create(tandem.get("limits")))
                    .fleet(FleetLimits.create(tandem))
                    .telemetry(telemetry)
                    .writers(tandem.get("writers").asInt().filter(n -> n > 0)
                            .orElse(Runtime.getRuntime().availableProcessors()))
                    .build();
            this.engine = built;
            timers = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "tandem-housekeeping");
                t.setDaemon(true);
                return t;
            });
            this.housekeeping = timers;
            if (backends.broker instanceof dev.tandem.broker.MemoryBroker m) {
                housekeeping.scheduleWithFixedDelay(m::sweep, 1, 1, TimeUnit.MINUTES);
            }
            if (backends.inbox instanceof dev.tandem.inbox.MemoryInbox m) {
                housekeeping.scheduleWithFixedDelay(m::sweep, 1, 1, TimeUnit.MINUTES);
            }
            startKafka(telemetry);
            Config db = tandem.get("db.url").exists() ? tandem.get("db") : tandem.get("documents.db");
            this.pushing = Pushing.create(tandem, devMode, db, backends.presence, rules, ops.documents(),
                    nodeId + "/" + java.util.UUID.randomUUID(), Clock.systemUTC());
            // no relay without Kafka: do not fill the outbox for nobody
            backends.documentStore.writeOutbox(kafka.isPresent(),
                    webhookSettings.map(WebhookSettings::documents).orElse(false));
        } catch (RuntimeException e) {
            // a failed start leaves nothing running: client threads would keep the JVM alive
            ingest.ifPresent(KafkaIngest::close);
            relay.ifPresent(dev.tandem.kafka.OutboxRelay::close);
            pushing.ifPresent(Pushing::close);
            Optional.ofNullable(timers).ifPresent(ScheduledExecutorService::shutdownNow);
            Optional.ofNullable(built).ifPresent(Engine::close);
            Optional.ofNullable(ops).ifPresent(Operations::close);
            connectionWatch.close();
            closeHooks();
            backends.close();
            throw e;
        }
    }

    private HealthCheckResponse kafkaHealth() {
        if (kafka.isEmpty()) {
            return HealthCheckResponse.builder().status(true).detail("enabled", false).build();
        }
        Optional<KafkaIngest> in = ingest;
        return HealthCheckResponse.builder()
                .status(in.map(KafkaIngest::connected).orElse(false))
                .detail("enabled", true)
                .detail("topic", kafka.get().topicIn())
                .detail("lag", in.map(KafkaIngest::lag).orElse(0L))
                .build();
    }

    /** Starts consuming domain events when {@code tandem.kafka.bootstrap-servers} is set. */
    private void startKafka(GatewayTelemetry telemetry) {
        kafka.ifPresent(settings -> {
            KafkaIngest in = KafkaIngest.start(settings, operations.channels()::ingest, new CloudEventCodec(codec),
                    telemetry.kafkaIngestDelay());
            telemetry.kafkaIngest(in::lag, in::handled, in::deadLettered);
            ingest = Optional.of(in);
            dev.tandem.kafka.OutboxRelay out = dev.tandem.kafka.OutboxRelay.start(settings,
                    backends.documentStore.outbox(), engine.nodeId() + "/" + java.util.UUID.randomUUID());
            telemetry.kafkaRelay(out::backlog, out::relayed);
            relay = Optional.of(out);
            LOG.log(System.Logger.Level.INFO, "consuming domain events from " + settings.topicIn() + " at "
                    + settings.bootstrapServers() + " as group " + settings.groupId() + "; relaying changes to "
                    + settings.topicOut());
        });
    }

    /**
     * Builds and starts a gateway from the root configuration (keys {@code server.*} and
     * {@code tandem.*}).
     */
    public static Gateway start(Config root) {
        Gateway g = new Gateway(root);
        try {
            g.server.start();
            if (!g.server.isRunning() || g.server.port() < 0) {
                // Helidon logs a bind failure and returns a server that listens nowhere
                throw new IllegalStateException("the server did not bind (address in use?)");
            }
        } catch (RuntimeException e) {
            g.stopped.set(true);
            g.ingest.ifPresent(KafkaIngest::close);
            g.relay.ifPresent(dev.tandem.kafka.OutboxRelay::close);
            g.pushing.ifPresent(Pushing::close);
            g.housekeeping.shutdownNow();
            g.engine.close();
            g.operations.close();
            g.connectionWatch.close();
            g.closeHooks();
            g.backends.close();
            throw new StartupException("could not listen on " + root.get("server.host").asString().orElse("0.0.0.0")
                    + ":" + root.get("server.port").asInt().orElse(8080) + ": " + e.getMessage()
                    + "\n  fix: stop the process that uses the port, or choose another with --port N "
                    + "(env SERVER_PORT)", e);
        }
        LOG.log(System.Logger.Level.INFO, "Tandem node " + g.engine.nodeId() + " serving "
                + (g.server.hasTls() ? "wss" : "ws") + "://localhost:" + g.server.port() + "/ws (standalone)");
        return g;
    }

    /** The port the server listens on. */
    public int port() {
        return server.port();
    }

    /** Whether the node serves the demo board at {@code /demo/} (development mode, with its files). */
    public boolean servesDemo() {
        return servesDemo;
    }

    /** Whether the server speaks TLS. */
    public boolean tls() {
        return server.hasTls();
    }

    /** The node's WebSocket sessions. */
    public Engine engine() {
        return engine;
    }

    private Backends backends() {
        return backends;
    }

    FrameCodec codec() {
        return codec;
    }

    ConnectionWatch connectionWatch() {
        return connectionWatch;
    }

    /** The local hub (tests: who is subscribed on this node). */
    Hub hub() {
        return hub;
    }

    /** The operations layer (tests). */
    Operations operations() {
        return operations;
    }

    boolean originAllowed(String origin, java.util.Optional<String> host) {
        return origins.allows(origin, host);
    }

    /**
     * Drains and stops: readiness DOWN, every client told to reconnect and closed with 1012
     * (waiting up to {@code tandem.drain-timeout}), then the server and engine stop. Idempotent.
     */
    public void stop() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        // clients are told to go first (drain stops accepting at once and turns readiness DOWN);
        // meanwhile Kafka stops: no new domain events (what is not committed is redelivered), and
        // the relay hands its lease over
        Thread kafkaStop = Thread.ofVirtual().name("tandem-kafka-stop").start(() -> {
            ingest.ifPresent(KafkaIngest::close);
            relay.ifPresent(dev.tandem.kafka.OutboxRelay::close);
        });
        engine.drain(drainTimeout);
        try {
            kafkaStop.join(Duration.ofSeconds(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.stop();
        framing.close();
        housekeeping.shutdownNow();
        connectionWatch.close();
        pushing.ifPresent(Pushing::close);
        engine.close();
        operations.close();
        closeHooks();
        backends.close();
        LOG.log(System.Logger.Level.INFO, "Tandem node " + engine.nodeId() + " stopped");
    }

    @Override
    public void close() {
        stop();
    }

    private void closeHooks() {
        webhooks.ifPresent(Webhooks::close);
        if (hooks instanceof HttpHooks h) {
            h.close();
        }
    }

    private static String defaultNodeId() {
        String host = System.getenv("HOSTNAME");
        if (host != null && !host.isBlank()) {
            return host;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "tandem-" + ProcessHandle.current().pid();
        }
    }
}
