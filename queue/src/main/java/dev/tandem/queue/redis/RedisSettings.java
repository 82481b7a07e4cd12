package dev.tandem.queue.redis;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import io.helidon.config.Config;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNode;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.config.BaseConfig;
import org.redisson.config.ConstantDelay;
import org.redisson.config.ReadMode;
import org.redisson.config.SubscriptionMode;

/**
 * Where and how the gateway reaches Redis, from the {@code tandem.redis} configuration node
 * (every default is here), and the Redisson client built from it: one instance
 * ({@code address}) or a Redis Cluster ({@code cluster-nodes}, a list of seed addresses, or
 * one comma-separated value as environment variables give it). Every Redis adapter takes the
 * client this builds; in cluster mode they all work unchanged because every key of one channel
 * or user shares a hash slot.
 *
 * <p>Cluster clients read from and subscribe at masters only (a replica may lag behind what a
 * node just wrote) and refresh the slot map every {@code scan-interval}, so after a failover
 * commands and subscriptions move to the promoted replica within about that time.
 *
 * <p>Every wait on Redis fits in {@code timeout-budget} (default {@value #DEFAULT_BUDGET_MILLIS}
 * ms): one command with all its tries ({@code (retry-attempts + 1) × timeout + retry-attempts ×
 * retry-interval}), connecting, subscribing. Unset, {@code timeout} is derived from the budget;
 * settings whose worst case exceeds the budget are refused at start. A Redis that does not
 * answer (down or hanging) therefore costs a caller at most the budget before it is told
 * {@code unavailable}, well inside a readiness probe's or a backend's timeout.
 */
public final class RedisSettings {
    static final long DEFAULT_BUDGET_MILLIS = 2000;
    /** Default {@code tandem.redis.timeout-budget}: the longest any caller waits on Redis. */
    public static final Duration DEFAULT_BUDGET = Duration.ofMillis(DEFAULT_BUDGET_MILLIS);
    /** Default {@code tandem.redis.retry-attempts}: tries after the first. */
    public static final int DEFAULT_RETRY_ATTEMPTS = 1;
    /** Default {@code tandem.redis.retry-interval}: the pause before a retry. */
    public static final Duration DEFAULT_RETRY_INTERVAL = Duration.ofMillis(200);
    /** Default {@code tandem.redis.scan-interval}: how often a cluster client re-reads the slot map. */
    public static final Duration DEFAULT_SCAN_INTERVAL = Duration.ofSeconds(1);
    /** Default {@code tandem.redis.subscriptions-per-connection}: shard channels one connection carries. */
    public static final int DEFAULT_SUBSCRIPTIONS_PER_CONNECTION = 10_000;
    /** Default {@code tandem.redis.connection-pool-size}: command connections per Redis (per master in a cluster). */
    public static final int DEFAULT_POOL_SIZE = 64;
    /** Default {@code tandem.redis.connection-minimum-idle} for one Redis: connections kept open while idle. */
    public static final int DEFAULT_MINIMUM_IDLE = 24;
    /** Default {@code tandem.redis.connection-minimum-idle} per master of a Redis Cluster. */
    public static final int DEFAULT_CLUSTER_MINIMUM_IDLE = 8;

    private final Optional<String> address;
    private final List<String> clusterNodes;
    private final Optional<String> username;
    private final Optional<String> password;
    private final Duration budget;
    private final Duration timeout;
    private final Duration connectTimeout;
    private final int retryAttempts;
    private final Duration retryInterval;
    private final Duration scanInterval;
    private final int subscriptionsPerConnection;
    private final int poolSize;
    private final int minimumIdle;

    private RedisSettings(Config redis) {
        this.address = nonBlank(redis.get("address"));
        this.clusterNodes = list(redis.get("cluster-nodes"));
        this.username = nonBlank(redis.get("username"));
        this.password = nonBlank(redis.get("password"));
        this.budget = redis.get("timeout-budget").as(Duration.class).orElse(DEFAULT_BUDGET);
        this.retryAttempts = redis.get("retry-attempts").asInt().orElse(DEFAULT_RETRY_ATTEMPTS);
        this.retryInterval = redis.get("retry-interval").as(Duration.class).orElse(DEFAULT_RETRY_INTERVAL);
        // unset, one try gets an equal share of what 80 % of the budget leaves after the pauses:
        // the rest absorbs the client's timer ticks and the hand-over (measured ~0.3 s in all)
        this.timeout = redis.get("timeout").as(Duration.class).orElseGet(() -> budget.multipliedBy(4).dividedBy(5)
                .minus(retryInterval.multipliedBy(Math.max(0, retryAttempts))).dividedBy(Math.max(1, retryAttempts + 1)));
        this.connectTimeout = redis.get("connect-timeout").as(Duration.class).orElseGet(() -> budget.dividedBy(2));
        this.scanInterval = redis.get("scan-interval").as(Duration.class).orElse(DEFAULT_SCAN_INTERVAL);
        this.subscriptionsPerConnection = redis.get("subscriptions-per-connection").asInt()
                .orElse(DEFAULT_SUBSCRIPTIONS_PER_CONNECTION);
        this.poolSize = redis.get("connection-pool-size").asInt().orElse(DEFAULT_POOL_SIZE);
        this.minimumIdle = redis.get("connection-minimum-idle").asInt().orElse(Math.min(poolSize,
                clusterNodes.isEmpty() ? DEFAULT_MINIMUM_IDLE : DEFAULT_CLUSTER_MINIMUM_IDLE));
        if (address.isPresent() && !clusterNodes.isEmpty()) {
            throw new IllegalArgumentException("set either tandem.redis.address (one Redis) or "
                    + "tandem.redis.cluster-nodes (a Redis Cluster), not both");
        }
        for (String node : clusterNodes) {
            if (!node.startsWith("redis://") && !node.startsWith("rediss://")) {
                throw new IllegalArgumentException("tandem.redis.cluster-nodes: \"" + node.substring(0,
                        Math.min(node.length(), 60)) + "\" is not a redis://host:port or rediss://host:port address");
            }
        }
        if (timeout.isNegative() || timeout.isZero() || connectTimeout.isNegative() || connectTimeout.isZero()
                || scanInterval.isNegative() || scanInterval.isZero() || retryAttempts < 0
                || retryInterval.isNegative() || subscriptionsPerConnection < 1 || poolSize < 1) {
            throw new IllegalArgumentException("tandem.redis: timeout-budget, timeout, connect-timeout, scan-interval, "
                    + "subscriptions-per-connection and connection-pool-size must be positive, retry-attempts and "
                    + "retry-interval not negative");
        }
        if (minimumIdle < 0 || minimumIdle > poolSize) {
            throw new IllegalArgumentException("tandem.redis.connection-minimum-idle must be between 0 and "
                    + "connection-pool-size (" + poolSize + ")");
        }
        if (worstCase().compareTo(budget) > 0 || connectTimeout.compareTo(budget) > 0) {
            throw new IllegalArgumentException("tandem.redis: a command may wait (retry-attempts + 1) x timeout + "
                    + "retry-attempts x retry-interval = " + worstCase().toMillis() + " ms and connecting "
                    + connectTimeout.toMillis() + " ms, more than timeout-budget (" + budget.toMillis() + " ms): "
                    + "lower them or raise the budget");
        }
    }

    /** The longest one command waits with all its tries. */
    private Duration worstCase() {
        return timeout.multipliedBy(retryAttempts + 1L).plus(retryInterval.multipliedBy(retryAttempts));
    }

    /**
     * {@code tandem.redis.timeout-budget}: the longest a caller waits on Redis (one command with
     * its retries, connecting, subscribing) before it is told {@code unavailable}; also how late
     * a readiness probe of Redis may answer before it counts as failed.
     */
    public Duration budget() {
        return budget;
    }

    /**
     * The settings of a {@code tandem.redis} node, or empty when it names no Redis (standalone).
     *
     * @throws IllegalArgumentException when the node is inconsistent (both an address and cluster
     *                                  nodes, an address that is not {@code redis://}, a bad number)
     */
    public static Optional<RedisSettings> create(Config redis) {
        RedisSettings s = new RedisSettings(redis);
        return s.address.isPresent() || !s.clusterNodes.isEmpty() ? Optional.of(s) : Optional.empty();
    }

    /** Whether this is a Redis Cluster. */
    public boolean cluster() {
        return !clusterNodes.isEmpty();
    }

    /** What to name in a message: the address, or the cluster's seeds. Never the password. */
    public String where() {
        return cluster() ? "the Redis Cluster at " + String.join(", ", clusterNodes) : "Redis at " + address.orElseThrow();
    }

    /** Which setting (and environment variable) to correct when {@link #where()} cannot be reached. */
    public String setting() {
        return cluster() ? "tandem.redis.cluster-nodes (env TANDEM_REDIS_CLUSTER_dash_NODES, comma-separated)"
                : "tandem.redis.address (env TANDEM_REDIS_ADDRESS)";
    }

    /**
     * Connects: a new client, which the caller shuts down.
     *
     * @throws IllegalStateException when a server runs a Redis older than 7.0 (no sharded pub/sub)
     */
    public RedissonClient connect() {
        RedissonClient client = Redisson.create(redissonConfig());
        try {
            requireSharding(client);
            return client;
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }

    /** The Redisson configuration these settings make. */
    org.redisson.config.Config redissonConfig() {
        org.redisson.config.Config c = new org.redisson.config.Config();
        if (cluster()) {
            var cluster = c.useClusterServers()
                    .setScanInterval((int) scanInterval.toMillis())
                    .setReadMode(ReadMode.MASTER)
                    .setSubscriptionMode(SubscriptionMode.MASTER)
                    .setMasterConnectionPoolSize(poolSize)
                    .setMasterConnectionMinimumIdleSize(minimumIdle)
                    .setSlaveConnectionMinimumIdleSize(1)
                    .setSubscriptionsPerConnection(subscriptionsPerConnection);
            clusterNodes.forEach(cluster::addNodeAddress);
            common(cluster);
        } else {
            common(c.useSingleServer().setAddress(address.orElseThrow())
                    .setConnectionPoolSize(poolSize)
                    .setConnectionMinimumIdleSize(minimumIdle)
                    .setSubscriptionsPerConnection(subscriptionsPerConnection));
        }
        return c;
    }

    /** Refuses a server older than 7.0, whose missing {@code SSUBSCRIBE} would only show as silence later. */
    private void requireSharding(RedissonClient client) {
        List<? extends RedisNode> servers = cluster()
                ? List.copyOf(client.getRedisNodes(RedisNodes.CLUSTER).getMasters())
                : List.of(client.getRedisNodes(RedisNodes.SINGLE).getInstance());
        for (RedisNode server : servers) {
            String version;
            try {
                version = server.info(RedisNode.InfoSection.SERVER).getOrDefault("redis_version", "");
            } catch (RuntimeException e) {
                continue; // INFO not allowed here: the version cannot be told, so it is not held against it
            }
            int major = version.matches("\\d+\\..*")
                    ? Integer.parseInt(version.substring(0, version.indexOf('.'))) : 7;
            if (major < 7) {
                throw new IllegalStateException("Redis 7.0 or later is required (sharded pub/sub); " + server.getAddr()
                        + " runs " + version);
            }
        }
    }

    private void common(BaseConfig<?> c) {
        c.setConnectTimeout((int) connectTimeout.toMillis())
                .setTimeout((int) timeout.toMillis())
                .setRetryAttempts(retryAttempts)
                .setRetryDelay(new ConstantDelay(retryInterval))
                // a subscription (SSUBSCRIBE) gets the same 80 % of the budget as a command
                .setSubscriptionTimeout((int) budget.multipliedBy(4).dividedBy(5).toMillis());
        password.ifPresent(c::setPassword);
        username.ifPresent(c::setUsername);
    }

    @Override
    public String toString() {
        return "RedisSettings[" + where() + "]";
    }

    private static Optional<String> nonBlank(Config node) {
        return node.asString().asOptional().map(String::trim).filter(s -> !s.isEmpty());
    }

    /** A YAML list, or one comma-separated value (environment variables and system properties). */
    private static List<String> list(Config node) {
        Optional<String> value = nonBlank(node);
        if (value.isPresent()) {
            return Arrays.stream(value.get().split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        }
        return node.asList(String.class).orElse(List.of()).stream().map(String::trim).filter(s -> !s.isEmpty())
                .toList();
    }
}
