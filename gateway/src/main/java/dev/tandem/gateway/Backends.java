package dev.tandem.gateway;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.redisson.api.RedissonClient;

import dev.tandem.auth.MemoryRevocations;
import dev.tandem.auth.Revocations;
import dev.tandem.broker.Broker;
import dev.tandem.broker.MemoryBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.conflict.DocumentStore;
import dev.tandem.hub.Hub;
import dev.tandem.inbox.Inbox;
import dev.tandem.inbox.MemoryInbox;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import dev.tandem.presence.redis.RedisPresenceStore;
import dev.tandem.queue.redis.RedisSettings;
import dev.tandem.queue.redis.broker.RedisBroker;
import dev.tandem.queue.redis.inbox.RedisInbox;
import dev.tandem.queue.redis.revocations.RedisRevocations;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.health.HealthCheckResponse;

/**
 * Chooses each backing part by configuration: {@code tandem.redis.address} (one Redis) or
 * {@code tandem.redis.cluster-nodes} (a Redis Cluster) switches the broker (history, offsets, cross-node fan-out), presence and inboxes to Redis;
 * {@code tandem.db.url} (or {@code tandem.documents.db.url}) points the document store at
 * PostgreSQL instead of the embedded H2 file. Each part has one adapter per mode and both pass
 * the same conformance suite.
 */
final class Backends implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Backends.class.getName());

    /** How often the readiness probes run, and how many failures / successes in a row turn them. */
    static final Duration PROBE_INTERVAL = Duration.ofMillis(500);
    static final int DOWN_AFTER = 2;
    static final int UP_AFTER = 2;

    final Optional<RedissonClient> redis;
    final Broker broker;
    final PresenceStore presence;
    final Inbox inbox;
    final DocumentStore documentStore;
    final Revocations revocations;
    /** Readiness of Redis and of the documents database, kept by background probes. */
    private final ScheduledExecutorService probes = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("tandem-health").factory());
    /** Pings Redis on connections of its own, so the node's busy command pool is not taken for Redis down. */
    private final Optional<RedisProbe> redisProbe;
    private final Optional<BackgroundCheck> redisCheck;
    private final BackgroundCheck databaseCheck;

    private Backends(Config tandem, Hub hub, ChannelRules rules, Telemetry telemetry, Clock clock) {
        Optional<RedisSettings> settings = StartupException.step("the Redis settings are not valid",
                "correct tandem.redis", () -> RedisSettings.create(tandem.get("redis")));
        // a probe answering later than the budget counts as failed: the wait every caller is promised
        Duration budget = settings.map(RedisSettings::budget).orElse(RedisSettings.DEFAULT_BUDGET);
        this.redis = settings.map(redis -> StartupException.step("could not connect to " + redis.where(),
                        "start Redis there, or correct " + redis.setting() + "; "
                                + "leave it unset to run standalone with everything in memory", redis::connect));
        try {
            PresenceLimits presenceLimits = new PresenceLimits(
                    tandem.get("presence.ttl").as(Duration.class).orElse(PresenceLimits.DEFAULT_TTL),
                    tandem.get("presence.max-state-bytes").asInt().orElse(PresenceLimits.DEFAULT_MAX_STATE_BYTES));
            Duration inboxTtl = tandem.get("inbox.ttl").as(Duration.class).orElse(Inbox.DEFAULT_TTL);
            if (redis.isPresent()) {
                RedissonClient r = redis.get();
                this.broker = new RedisBroker(r, hub, rules, telemetry, clock);
                this.presence = new RedisPresenceStore(r, presenceLimits, clock);
                this.inbox = new RedisInbox(r, inboxTtl, budget, clock);
                this.revocations = new RedisRevocations(r, clock);
            } else {
                this.broker = new MemoryBroker(hub, rules, telemetry, clock, tandem.get("channels.max-per-tenant").asInt()
                        .orElse(MemoryBroker.DEFAULT_MAX_CHANNELS_PER_TENANT));
                this.presence = new MemoryPresenceStore(presenceLimits, clock);
                this.inbox = new MemoryInbox(inboxTtl, tandem.get("inbox.max-messages").asInt()
                        .orElse(MemoryInbox.DEFAULT_MAX_MESSAGES), clock);
                this.revocations = new MemoryRevocations(clock);
            }
            Config db = tandem.get("db.url").exists() ? tandem.get("db") : tandem.get("documents.db");
            String where = db.get("url").asString().orElse("the embedded H2 file ./data/tandem");
            this.documentStore = StartupException.step("could not open the documents database at " + where,
                    where.startsWith("jdbc:postgresql")
                            ? "start PostgreSQL there, or correct tandem.db.url / username / password "
                                    + "(env TANDEM_DB_URL, TANDEM_DB_USERNAME, TANDEM_DB_PASSWORD)"
                            : "check that the data directory is writable and no other process holds the "
                                    + "database file, or set tandem.db.url",
                    () -> DocumentStore.create(tandem.get("documents"), db));
            this.redisProbe = redis.map(r -> new RedisProbe(r, budget));
            this.redisCheck = redisProbe.map(p -> new BackgroundCheck("redis", p::ping, PROBE_INTERVAL, budget,
                    DOWN_AFTER, UP_AFTER, probes));
            this.databaseCheck = new BackgroundCheck("database", documentStore::reachable, PROBE_INTERVAL, budget,
                    DOWN_AFTER, UP_AFTER, probes);
            LOG.log(System.Logger.Level.INFO, "backing parts: broker, presence and inboxes in "
                    + (redis.isPresent() ? "Redis" : "memory") + "; documents in "
                    + (where.startsWith("jdbc:postgresql") ? "PostgreSQL" : "H2 (" + where + ")"));
        } catch (RuntimeException e) {
            // nothing half-open survives a failed start: Redisson's threads would keep the JVM up
            probes.shutdownNow();
            redis.ifPresent(RedissonClient::shutdown);
            throw e;
        }
    }

    static Backends create(Config tandem, Hub hub, ChannelRules rules, Telemetry telemetry, Clock clock) {
        return new Backends(tandem, hub, rules, telemetry, clock);
    }

    /** Redis readiness from the background probe (never a Redis call); UP when Redis is not used. */
    HealthCheckResponse redisHealth() {
        return redisCheck.map(BackgroundCheck::response).orElseGet(() -> HealthCheckResponse.builder().status(true))
                .detail("enabled", redis.isPresent()).build();
    }

    /** Database readiness from the background probe (never a query). */
    HealthCheckResponse databaseHealth() {
        return databaseCheck.response().build();
    }

    /**
     * Closes the adapters this node opened (broker, presence, inboxes, revocations, documents),
     * then their Redis client: whoever opens a port closes it.
     */
    @Override
    public void close() {
        probes.shutdownNow();
        redisProbe.ifPresent(RedisProbe::close);
        for (AutoCloseable port : new AutoCloseable[] {revocations, broker, presence, inbox, documentStore}) {
            try {
                port.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "closing " + port.getClass().getSimpleName() + " failed", e);
            }
        }
        redis.ifPresent(RedissonClient::shutdown);
    }
}
