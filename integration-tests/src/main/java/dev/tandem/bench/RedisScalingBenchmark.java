package dev.tandem.bench;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.harness.RedisCluster;
import dev.tandem.harness.RedisServer;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.queue.redis.RedisSettings;
import dev.tandem.queue.redis.broker.RedisBroker;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.redisson.api.RedissonClient;

/**
 * Whether more Redis shards carry more publications: the same publication load through
 * Tandem's broker on one Redis instance and on Redis Clusters of one, two and three masters
 * (private {@code redis-server}s on this machine, one after the other in the same run). Two
 * broker nodes (each with its own Redisson client and hub, in this JVM) subscribe to every
 * channel; {@code --publishers} threads publish {@code --publications} durable publications
 * round-robin over {@code --channels} channels through node one, as fast as they are
 * acknowledged. Printed per setup: publications/s (until both nodes delivered the last),
 * the nodes' CPU per publication (this JVM), Redis's (all its processes), and how busy the
 * busiest Redis process was: one Redis process runs on one core, so that share is how close a
 * setup is to its Redis limit, and spreading it over shards is what raises the limit.
 *
 * <pre>
 * java -cp "integration-tests/target/classes:integration-tests/target/libs/*" \
 *      dev.tandem.bench.RedisScalingBenchmark [--publications 60000] [--channels 1000] [--publishers 32]
 * </pre>
 */
public final class RedisScalingBenchmark {
    private static final int NODES = 2;

    private RedisScalingBenchmark() {
    }

    /** Options, with defaults. */
    record Options(int publications, int channels, int publishers) {
        static Options parse(String[] args) {
            Map<String, String> m = Bench.options(args);
            return new Options(Integer.parseInt(m.getOrDefault("publications", "60000")),
                    Integer.parseInt(m.getOrDefault("channels", "1000")),
                    Integer.parseInt(m.getOrDefault("publishers", "32")));
        }
    }

    /**
     * The figures of one setup.
     *
     * @param busiestRedisShare the CPU of the busiest Redis process over the run, as a share of one core:
     *                          how close the setup is to what one Redis core can do
     */
    record Result(String setup, double publicationsPerSecond, double nodeCpuMicros, double redisCpuMicros,
                  double busiestRedisShare) {
    }

    /** A Redis to run on: its client settings, the CPU of each of its processes so far, and how to stop it. */
    private record Store(String name, Map<String, String> settings, Supplier<List<Duration>> cpu, AutoCloseable stop) {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        print(o, run(o));
    }

    static List<Result> run(Options o) throws Exception {
        List<Result> results = new ArrayList<>();
        RedisServer warmUp = RedisServer.start("scaling-warm-up", false);
        // the first setup measured would also pay for compiling the hot path: one unrecorded run first
        measure(new Options(o.publications / 2, o.channels, o.publishers), new Store("warm-up",
                Map.of("address", warmUp.url()), () -> List.of(warmUp.cpu()), warmUp));
        RedisServer single = RedisServer.start("scaling-single", false);
        results.add(measure(o, new Store("one Redis", Map.of("address", single.url()), () -> List.of(single.cpu()),
                single)));
        for (int masters = 1; masters <= 3; masters++) {
            RedisCluster cluster = RedisCluster.start("scaling-" + masters, masters, 0);
            results.add(measure(o, new Store("Redis Cluster, " + masters + (masters == 1 ? " shard" : " shards"),
                    Map.of("cluster-nodes", cluster.seedList()), cluster::cpuByNode, cluster)));
        }
        return results;
    }

    private static Result measure(Options o, Store store) throws Exception {
        FrameCodec codec = FrameCodec.create();
        ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of())));
        List<RedissonClient> clients = new ArrayList<>();
        List<RedisBroker> nodes = new ArrayList<>();
        AtomicLong delivered = new AtomicLong();
        Subscriber counting = (Publication p, Encoded frame) -> delivered.incrementAndGet();
        try (AutoCloseable stop = store.stop()) {
            for (int n = 0; n < NODES; n++) {
                RedissonClient client = RedisSettings.create(Config.just(ConfigSources.create(store.settings())))
                        .orElseThrow().connect();
                clients.add(client);
                RedisBroker node = new RedisBroker(client, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                        Clock.systemUTC());
                nodes.add(node);
            }
            List<ChannelKey> channels = new ArrayList<>();
            for (int c = 0; c < o.channels; c++) {
                ChannelKey ch = rules.resolve("bench", "location:wh-" + c);
                channels.add(ch);
                for (RedisBroker node : nodes) {
                    node.subscribe(ch, counting, java.util.Optional.empty(), r -> { });
                }
            }
            publish(o, nodes.getFirst(), channels, codec, o.publications / 5, delivered); // warm-up
            delivered.set(0);
            Duration nodeCpu0 = jvmCpu();
            List<Duration> redisCpu0 = store.cpu().get();
            long t0 = System.nanoTime();
            publish(o, nodes.getFirst(), channels, codec, o.publications, delivered);
            long wall = System.nanoTime() - t0;
            double nodeCpu = jvmCpu().minus(nodeCpu0).toNanos() / 1e3 / o.publications;
            List<Duration> redisCpu1 = store.cpu().get();
            long redisSum = 0;
            long busiest = 0;
            for (int i = 0; i < redisCpu1.size(); i++) {
                long used = redisCpu1.get(i).minus(redisCpu0.get(i)).toNanos();
                redisSum += used;
                busiest = Math.max(busiest, used);
            }
            return new Result(store.name(), o.publications / (wall / 1e9), nodeCpu, redisSum / 1e3 / o.publications,
                    (double) busiest / wall);
        } finally {
            nodes.forEach(RedisBroker::close);
            clients.forEach(RedissonClient::shutdown);
        }
    }

    /** Publishes {@code count} durable publications and waits until every node delivered each. */
    private static void publish(Options o, RedisBroker node, List<ChannelKey> channels, FrameCodec codec, int count,
                                AtomicLong delivered) throws Exception {
        long expected = delivered.get() + (long) count * NODES;
        AtomicInteger next = new AtomicInteger();
        ExecutorService publishers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int p = 0; p < o.publishers; p++) {
                running.add(publishers.submit(() -> {
                    for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                        node.publish(channels.get(i % channels.size()), Draft.durable("n", codec.object().put("n", i)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            publishers.shutdown();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (delivered.get() < expected) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException((expected - delivered.get()) + " deliveries missing");
            }
            Thread.sleep(5);
        }
    }

    private static Duration jvmCpu() {
        return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    static void print(Options o, List<Result> results) {
        System.out.printf(Locale.ROOT, "%,d durable publications over %,d channels, %d publishers, %d broker nodes "
                + "subscribed to every channel; %d cores%n", o.publications, o.channels, o.publishers, NODES,
                Runtime.getRuntime().availableProcessors());
        System.out.println("| setup | publications/s | relative | node CPU per publication | Redis CPU per publication "
                + "| busiest Redis process |");
        System.out.println("|---|---|---|---|---|---|");
        double base = results.getFirst().publicationsPerSecond();
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %,.0f | %.2f | %.0f µs | %.0f µs | %.0f%% of a core |%n", r.setup(),
                    r.publicationsPerSecond(), r.publicationsPerSecond() / base, r.nodeCpuMicros(), r.redisCpuMicros(),
                    100 * r.busiestRedisShare());
        }
    }
}
