package dev.tandem.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.telemetry.Telemetry;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.DistributionStatisticsConfig;
import io.helidon.metrics.api.DistributionSummary;
import io.helidon.metrics.api.FunctionalCounter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;
import io.helidon.metrics.api.Timer;

/**
 * The engine's telemetry as Helidon metrics, served in Prometheus text at {@code /metrics}.
 * Names (Prometheus form): {@code tandem_connections}, {@code tandem_connections_opened_total},
 * {@code tandem_connections_closed_total{code}}, {@code tandem_frames_in_total{op}},
 * {@code tandem_frames_out_total{op}}, {@code tandem_publications_total{namespace,kind}},
 * {@code tandem_deliveries_total}, {@code tandem_publish_to_deliver_seconds} (histogram),
 * {@code tandem_fanout_subscribers} (histogram), {@code tandem_slow_consumer_closes_total},
 * {@code tandem_errors_total{code}}; with Kafka on, {@code tandem_kafka_ingest_lag},
 * {@code tandem_kafka_ingest_events}, {@code tandem_kafka_ingest_dead_lettered},
 * {@code tandem_kafka_ingest_delay_seconds} (histogram),
 * {@code tandem_kafka_relay_backlog}, {@code tandem_kafka_relay_events}; {@code tandem_inbox_depth};
 * {@code tandem_hook_calls_total{hook,outcome}}, {@code tandem_hook_latency_seconds{hook}} (histogram),
 * with webhooks on {@code tandem_webhooks_backlog}; {@code tandem_conflicts_total{strategy}};
 * {@code tandem_tenant_connections{tenant}} and {@code tandem_tenant_messages_total{tenant}} for the
 * tenants opted in with {@code tandem.metrics.tenants}, all others summed as {@code _other}.
 */
final class GatewayTelemetry implements Telemetry {
    private final MeterRegistry registry;
    private final Counter opened;
    private final Counter slowConsumers;
    private final Timer latency;
    private final DistributionSummary fanout;
    private final DistributionSummary inboxDepth;
    private final Map<String, Counter> framesIn = new ConcurrentHashMap<>();
    private final Map<String, Counter> publications = new ConcurrentHashMap<>();
    private final Map<Integer, Counter> closed = new ConcurrentHashMap<>();
    private final Map<ErrorCode, Counter> errors = new ConcurrentHashMap<>();
    private final Map<String, Counter> hookCalls = new ConcurrentHashMap<>();
    private final Map<String, Timer> hookLatency = new ConcurrentHashMap<>();

    /**
     * What the gauges read. Meters live in the process-wide registry and outlive a gateway, so
     * gauges must not capture one gateway's engine: the newest gateway of the process (in
     * production the only one) installs its suppliers here.
     */
    private static final class Live {
        private static volatile IntSupplier connections = () -> 0;
        private static volatile java.util.function.LongSupplier ingestLag = () -> 0;
        private static volatile java.util.function.LongSupplier ingestEvents = () -> 0;
        private static volatile java.util.function.LongSupplier ingestDeadLettered = () -> 0;
        private static volatile java.util.function.LongSupplier relayBacklog = () -> 0;
        private static volatile java.util.function.LongSupplier relayEvents = () -> 0;
        private static volatile java.util.function.LongSupplier webhookBacklog = () -> 0;
        private static final Map<String, java.util.concurrent.atomic.AtomicLong> TENANT_CONNECTIONS =
                new ConcurrentHashMap<>();
    }

    /**
     * The counts of the write path, updated once per socket write by every writer thread: striped
     * adders the registry reads when scraped ({@link FunctionalCounter}), because a registry
     * counter's increment (a composite of registries) costs more than the write's own bookkeeping.
     * Process-wide, like the meters that read them.
     */
    private static final class Hot {
        private static final LongAdder DELIVERIES = new LongAdder();
        private static final Map<String, LongAdder> FRAMES_OUT = new ConcurrentHashMap<>();
        /** When the last publish-to-deliver sample was taken ({@link System#nanoTime()}). */
        private static volatile long lastLatencySample = System.nanoTime() - LATENCY_SAMPLE_NANOS;
    }

    /**
     * Publish-to-deliver latency is sampled: the first write at least this long after the
     * previous sample (so at most about a thousand samples a second, whatever the fan-out).
     */
    static final long LATENCY_SAMPLE_NANOS = 1_000_000;

    /** Tenants not named in {@code tandem.metrics.tenants} are counted under this one. */
    static final String OTHER_TENANTS = "_other";

    private final Set<String> tenants;
    private final Map<String, Counter> tenantMessages = new ConcurrentHashMap<>();
    private final Map<String, Counter> conflicts = new ConcurrentHashMap<>();

    GatewayTelemetry(IntSupplier connections, Set<String> tenants) {
        this.tenants = Set.copyOf(tenants);
        this.registry = Metrics.globalRegistry();
        Live.connections = connections;
        registry.getOrCreate(Gauge.builder("tandem.connections", () -> Live.connections.getAsInt())
                .description("Open connections on this node: WebSocket connections and SSE streams"));
        this.opened = registry.getOrCreate(Counter.builder("tandem.connections.opened")
                .description("Connections accepted (WebSocket and SSE streams)"));
        registry.getOrCreate(FunctionalCounter.builder("tandem.deliveries", Hot.DELIVERIES, LongAdder::sum)
                .description("Publications written to client sockets"));
        this.slowConsumers = registry.getOrCreate(Counter.builder("tandem.slow.consumer.closes")
                .description("Connections closed because their outbound queue overflowed"));
        this.latency = registry.getOrCreate(Timer.builder("tandem.publish.to.deliver")
                .description("Time from accepting a publication to writing it to a socket (sampled: the oldest"
                        + " publication of the first socket write at least 1 ms after the previous sample)")
                .buckets(Duration.ofNanos(250_000), Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5),
                        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
                        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5)));
        this.fanout = registry.getOrCreate(DistributionSummary.builder("tandem.fanout.subscribers",
                        DistributionStatisticsConfig.builder().buckets(1, 10, 100, 1_000, 10_000, 100_000))
                .description("Local subscribers a publication was handed to"));
        this.inboxDepth = registry.getOrCreate(DistributionSummary.builder("tandem.inbox.depth",
                        DistributionStatisticsConfig.builder().buckets(1, 10, 100, 1_000, 10_000))
                .description("Unacknowledged inbox messages a user had when a device subscribed"));
    }

    /** Registers the Kafka ingest's gauges. */
    void kafkaIngest(java.util.function.LongSupplier lag, java.util.function.LongSupplier handled,
                     java.util.function.LongSupplier deadLettered) {
        Live.ingestLag = lag;
        Live.ingestEvents = handled;
        Live.ingestDeadLettered = deadLettered;
        registry.getOrCreate(Gauge.builder("tandem.kafka.ingest.lag", () -> Live.ingestLag.getAsLong())
                .description("Inbound records not yet read on this node's partitions"));
        registry.getOrCreate(Gauge.builder("tandem.kafka.ingest.events", () -> Live.ingestEvents.getAsLong())
                .description("Inbound domain events published to channels since start"));
        registry.getOrCreate(Gauge.builder("tandem.kafka.ingest.dead.lettered",
                        () -> Live.ingestDeadLettered.getAsLong())
                .description("Inbound events sent to the dead-letter topic since start"));
    }

    /**
     * Registers the histogram of how old inbound events are when the Kafka ingest publishes them;
     * answers what the ingest tells for each event.
     */
    dev.tandem.kafka.KafkaIngest.DelayObserver kafkaIngestDelay() {
        Timer delay = registry.getOrCreate(Timer.builder("tandem.kafka.ingest.delay")
                .description("Time from an inbound record's Kafka timestamp (the producer's clock, or the broker's"
                        + " with LogAppendTime) to its publication on this node: how fresh events are when they"
                        + " reach the channels, Kafka's part of the way to the client")
                .buckets(Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
                        Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
                        Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30)));
        return delay::record;
    }

    /** Registers the outbox relay's gauges. */
    void kafkaRelay(java.util.function.LongSupplier backlog, java.util.function.LongSupplier relayed) {
        Live.relayBacklog = backlog;
        Live.relayEvents = relayed;
        registry.getOrCreate(Gauge.builder("tandem.kafka.relay.backlog", () -> Live.relayBacklog.getAsLong())
                .description("Accepted changes waiting in the outbox to be relayed to Kafka"));
        registry.getOrCreate(Gauge.builder("tandem.kafka.relay.events", () -> Live.relayEvents.getAsLong())
                .description("Changes relayed to the outbound topic by this node since start"));
    }

    /** Registers the webhooks' gauge. */
    void webhooks(java.util.function.LongSupplier backlog) {
        Live.webhookBacklog = backlog;
        registry.getOrCreate(Gauge.builder("tandem.webhooks.backlog", () -> Live.webhookBacklog.getAsLong())
                .description("Document changes waiting in the outbox for the webhook"));
    }

    @Override
    public void inboxDepth(int depth) {
        inboxDepth.record(depth);
    }

    @Override
    public void connectionOpened() {
        opened.increment();
    }

    @Override
    public void connectionClosed(int closeCode) {
        closed.computeIfAbsent(closeCode, c -> registry.getOrCreate(Counter.builder("tandem.connections.closed")
                .description("Connections ended (WebSocket and SSE streams), by close code")
                .tags(Metrics.tags("code", String.valueOf(c))))).increment();
    }

    @Override
    public void frameIn(String op) {
        framesIn.computeIfAbsent(op, o -> registry.getOrCreate(Counter.builder("tandem.frames.in")
                .description("Client frames received, by op").tags(Metrics.tags("op", o)))).increment();
    }

    @Override
    public void frameOut(String op) {
        framesOut(op, 1);
    }

    @Override
    public void framesOut(String op, int count) {
        Hot.FRAMES_OUT.computeIfAbsent(op, o -> {
            LongAdder adder = new LongAdder();
            registry.getOrCreate(FunctionalCounter.builder("tandem.frames.out", adder, LongAdder::sum)
                    .description("Server frames written, by op").tags(Metrics.tags("op", o)));
            return adder;
        }).add(count);
    }

    @Override
    public void delivered(int count, long sampleNanos) {
        Hot.DELIVERIES.add(count);
        sampleLatency(sampleNanos);
    }

    @Override
    public void published(String namespace, boolean ephemeral) {
        String kind = ephemeral ? "ephemeral" : "durable";
        publications.computeIfAbsent(namespace + "/" + kind, k -> registry.getOrCreate(
                Counter.builder("tandem.publications").description("Publications accepted, by namespace and kind")
                        .tags(Metrics.tags("namespace", namespace, "kind", kind)))).increment();
    }

    @Override
    public void fannedOut(int subscribers) {
        fanout.record(subscribers);
    }

    @Override
    public void delivered(long nanos) {
        Hot.DELIVERIES.increment();
        sampleLatency(nanos);
    }

    private void sampleLatency(long nanos) {
        long now = System.nanoTime();
        if (now - Hot.lastLatencySample >= LATENCY_SAMPLE_NANOS) {
            Hot.lastLatencySample = now; // a race may take two samples: harmless
            latency.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void slowConsumerClosed() {
        slowConsumers.increment();
    }

    @Override
    public void error(ErrorCode code) {
        errors.computeIfAbsent(code, c -> registry.getOrCreate(Counter.builder("tandem.errors")
                .description("Errors answered, by code").tags(Metrics.tags("code", c.wire())))).increment();
    }

    @Override
    public void hookCall(String hook, String outcome, long nanos) {
        hookCalls.computeIfAbsent(hook + "/" + outcome, k -> registry.getOrCreate(Counter.builder("tandem.hook.calls")
                .description("Backend hook and webhook calls, by hook and outcome (allow, refuse, ok, failure)")
                .tags(Metrics.tags("hook", hook, "outcome", outcome)))).increment();
        hookLatency.computeIfAbsent(hook, h -> registry.getOrCreate(Timer.builder("tandem.hook.latency")
                .description("Time of backend hook and webhook calls, by hook")
                .tags(Metrics.tags("hook", h))
                .buckets(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
                        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
                        Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5))))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void conflict(String strategy) {
        conflicts.computeIfAbsent(strategy, st -> registry.getOrCreate(Counter.builder("tandem.conflicts")
                .description("Concurrent document changes settled, by strategy")
                .tags(Metrics.tags("strategy", st)))).increment();
    }

    /** The tenant label: the tenant when it is opted in, else {@value #OTHER_TENANTS} (bounded cardinality). */
    private String tenantLabel(String tenant) {
        return tenants.contains(tenant) ? tenant : OTHER_TENANTS;
    }

    @Override
    public void tenantConnections(String tenant, int delta) {
        String label = tenantLabel(tenant);
        Live.TENANT_CONNECTIONS.computeIfAbsent(label, l -> {
            java.util.concurrent.atomic.AtomicLong n = new java.util.concurrent.atomic.AtomicLong();
            registry.getOrCreate(Gauge.builder("tandem.tenant.connections",
                            () -> Live.TENANT_CONNECTIONS.get(l).get())
                    .description("Authenticated connections on this node by tenant (tandem.metrics.tenants; others as "
                            + OTHER_TENANTS + ")")
                    .tags(Metrics.tags("tenant", l)));
            return n;
        }).addAndGet(delta);
    }

    @Override
    public void tenantMessage(String tenant) {
        tenantMessages.computeIfAbsent(tenantLabel(tenant), l -> registry.getOrCreate(
                Counter.builder("tandem.tenant.messages").description("Client messages received by tenant "
                        + "(tandem.metrics.tenants; others as " + OTHER_TENANTS + ")")
                        .tags(Metrics.tags("tenant", l)))).increment();
    }
}
