package dev.tandem.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.tandem.harness.RedisCluster;
import dev.tandem.harness.RedisServer;

import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import org.redisson.Redisson;
import org.redisson.api.RScript;
import org.redisson.api.RShardedTopic;
import org.redisson.api.RedissonClient;
import org.redisson.api.listener.StatusListener;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * How a gateway node should subscribe to sharded pub/sub on a Redis Cluster, measured: one
 * shard channel per Tandem channel (the node subscribes to exactly the channels its clients
 * hold), or a fixed number of partitions (every channel hashed to one of P shard channels; the
 * node subscribes to each partition holding one of its channels and drops the messages of the
 * channels it does not hold).
 *
 * <p>On a private three-master cluster, three receiving nodes (each a Redisson client with its
 * own named threads, so their CPU can be told apart from the publisher's) hold the channels:
 * each channel by {@code --holders} random nodes. Then a publisher sends {@code --publications}
 * messages round-robin over all channels through a script shaped like the broker's (take the
 * next offset, publish). Printed per layout: the node subscriptions, the time to make them,
 * the Redis memory they take, publications/s, messages each node received per publication it
 * needed, the receiving nodes' CPU per publication, the heap the subscriptions take in the nodes
 * (all three, this JVM after a full GC), and the time to re-subscribe everything
 * after every pub/sub connection was killed.
 *
 * <pre>
 * java -cp "integration-tests/target/classes:integration-tests/target/libs/*" \
 *      dev.tandem.bench.PubSubLayoutBenchmark [--channels 10000] [--holders 1] [--publications 100000]
 *                                             [--partitions 128] [--payload 100] [--rate 2000]
 *                                             [--paced-seconds 10]
 * </pre>
 */
public final class PubSubLayoutBenchmark {
    private static final int NODES = 3;
    private static final int IN_FLIGHT = 256;

    private PubSubLayoutBenchmark() {
    }

    /** Options, with defaults. */
    record Options(int channels, int holders, int publications, int partitions, int payload, int rate,
                   int pacedSeconds) {
        static Options parse(String[] args) {
            Map<String, String> m = Bench.options(args);
            Options o = new Options(Integer.parseInt(m.getOrDefault("channels", "10000")),
                    Integer.parseInt(m.getOrDefault("holders", "1")),
                    Integer.parseInt(m.getOrDefault("publications", "100000")),
                    Integer.parseInt(m.getOrDefault("partitions", "128")),
                    Integer.parseInt(m.getOrDefault("payload", "100")),
                    Integer.parseInt(m.getOrDefault("rate", "2000")),
                    Integer.parseInt(m.getOrDefault("paced-seconds", "10")));
            if (o.holders < 1 || o.holders > NODES) {
                throw new IllegalArgumentException("--holders is 1 to " + NODES);
            }
            return o;
        }
    }

    /** The figures of one layout. */
    record Result(String layout, int subscriptionsPerNode, long subscribeMillis, long subscriptionBytes,
                  long subscriptionHeapBytes, double publicationsPerSecond, double receivedPerNeeded, double cpuMicrosPerPublication,
                  long resubscribeMillis, long delivered, long needed) {
    }

    /** One layout: how channels map to shard channels and messages. */
    private interface Layout {
        String name();

        /** The shard channel carrying {@code channel}. */
        String shardChannel(int channel);

        /** The hash-tagged key of the channel's offset (in the slot of its shard channel). */
        String metaKey(int channel);
    }

    private record PerChannel() implements Layout {
        public String name() {
            return "one per channel";
        }

        public String shardChannel(int channel) {
            return "bench:{c" + channel + "}:live";
        }

        public String metaKey(int channel) {
            return "bench:{c" + channel + "}:meta";
        }
    }

    private record Partitioned(int partitions) implements Layout {
        public String name() {
            return partitions + " partitions";
        }

        public String shardChannel(int channel) {
            return "bench:{p" + partition(channel) + "}:live";
        }

        public String metaKey(int channel) {
            return "bench:{p" + partition(channel) + "}:c" + channel + ":meta";
        }

        private int partition(int channel) {
            return Math.floorMod(Integer.hashCode(channel * 0x9E3779B1), partitions);
        }
    }

    private static final String PUBLISH = """
            local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
            redis.call('SPUBLISH', ARGV[1], ARGV[2] .. '|' .. top .. '|' .. ARGV[3])
            return top
            """;

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        List<Result> results = run(o);
        print(o, results);
    }

    static List<Result> run(Options o) throws Exception {
        List<Result> results = new ArrayList<>();
        try (RedisCluster cluster = RedisCluster.start("layout", 3, 0)) {
            for (Layout layout : List.of(new PerChannel(), new Partitioned(o.partitions))) {
                results.add(measure(o, cluster, layout));
            }
        }
        return results;
    }

    private static Result measure(Options o, RedisCluster cluster, Layout layout) throws Exception {
        Random random = new Random(42);
        List<Set<Integer>> held = new ArrayList<>();
        for (int n = 0; n < NODES; n++) {
            held.add(new HashSet<>());
        }
        for (int c = 0; c < o.channels; c++) {
            List<Integer> nodes = new ArrayList<>(List.of(0, 1, 2));
            java.util.Collections.shuffle(nodes, random);
            for (int h = 0; h < o.holders; h++) {
                held.get(nodes.get(h)).add(c);
            }
        }
        List<Node> nodes = new ArrayList<>();
        RedissonClient publisher = client(cluster, null);
        try {
            for (int n = 0; n < NODES; n++) {
                nodes.add(new Node(client(cluster, "recv" + n + "-"), held.get(n), layout));
            }
            long memoryBefore = usedMemory(cluster);
            long heapBefore = heapAfterGc();
            long t0 = System.nanoTime();
            for (Node node : nodes) {
                node.subscribe();
            }
            long subscribeMillis = (System.nanoTime() - t0) / 1_000_000;
            long subscriptionBytes = usedMemory(cluster) - memoryBefore;
            long subscriptionHeap = heapAfterGc() - heapBefore;

            publish(o, layout, publisher, nodes, held, o.publications / 5, 0); // warm-up: JIT, connections
            t0 = System.nanoTime();
            publish(o, layout, publisher, nodes, held, o.publications, 0);
            double seconds = (System.nanoTime() - t0) / 1e9;
            // CPU at the same paced load for both layouts: at full speed it would measure batching
            long cpu0 = receivingCpu();
            nodes.forEach(Node::reset);
            int paced = o.rate * o.pacedSeconds;
            long needed = publish(o, layout, publisher, nodes, held, paced, o.rate);
            long cpu = receivingCpu() - cpu0;
            long received = nodes.stream().mapToLong(n -> n.received.get()).sum();
            long delivered = nodes.stream().mapToLong(n -> n.delivered.get()).sum();

            long resubscribeMillis = resubscribe(cluster, nodes);
            int subscriptions = nodes.stream().mapToInt(n -> n.shardChannels.size()).max().orElse(0);
            Result r = new Result(layout.name(), subscriptions, subscribeMillis, subscriptionBytes, subscriptionHeap,
                    o.publications / seconds, (double) received / needed, cpu / 1e3 / paced,
                    resubscribeMillis, delivered, needed);
            cluster.masters().forEach(m -> command(m, "FLUSHALL"));
            return r;
        } finally {
            nodes.forEach(n -> n.redisson.shutdown());
            publisher.shutdown();
        }
    }

    /**
     * Publishes {@code count} messages round-robin over the channels, {@code rate} per second (0:
     * as fast as Redis takes them); returns once every holder has each, with how many that made.
     */
    private static long publish(Options o, Layout layout, RedissonClient publisher, List<Node> nodes,
                                List<Set<Integer>> held, int count, int rate) throws InterruptedException {
        long needed = 0;
        for (int i = 0; i < count; i++) {
            needed += countHolders(held, i % o.channels);
        }
        CountDownLatch done = new CountDownLatch((int) needed);
        nodes.forEach(n -> n.expect(done));
        nodes.forEach(Node::reset);
        String body = "x".repeat(o.payload);
        RScript script = publisher.getScript(StringCodec.INSTANCE);
        Semaphore window = new Semaphore(IN_FLIGHT);
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            int channel = i % o.channels;
            if (rate > 0) {
                long due = start + i * 1_000_000_000L / rate;
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            }
            window.acquire();
            script.evalAsync(RScript.Mode.READ_WRITE, PUBLISH, RScript.ReturnType.LONG,
                            List.of(layout.metaKey(channel)), layout.shardChannel(channel), String.valueOf(channel), body)
                    .whenComplete((r, e) -> window.release());
        }
        if (!done.await(120, TimeUnit.SECONDS)) {
            List<String> missing = new ArrayList<>();
            for (int n = 0; n < nodes.size(); n++) {
                for (int c : held.get(n)) {
                    int want = count / o.channels + (c < count % o.channels ? 1 : 0);
                    int got = nodes.get(n).perChannel.getOrDefault(String.valueOf(c), new AtomicInteger()).get();
                    if (got != want && missing.size() < 5) {
                        missing.add("node " + n + " got " + got + " of " + want + " on " + layout.shardChannel(c));
                    }
                }
            }
            throw new IllegalStateException(layout.name() + ": " + done.getCount() + " deliveries missing, e.g. "
                    + missing);
        }
        return needed;
    }

    private static int countHolders(List<Set<Integer>> held, int channel) {
        int n = 0;
        for (Set<Integer> h : held) {
            if (h.contains(channel)) {
                n++;
            }
        }
        return n;
    }

    /** Kills every pub/sub connection on every master and waits until each node re-subscribed all. */
    private static long resubscribe(RedisCluster cluster, List<Node> nodes) throws InterruptedException {
        nodes.forEach(Node::countResubscriptions);
        long t0 = System.nanoTime();
        cluster.masters().forEach(m -> command(m, "CLIENT", "KILL", "TYPE", "pubsub"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            if (nodes.stream().allMatch(n -> n.resubscribed.get() >= n.shardChannels.size())) {
                return (System.nanoTime() - t0) / 1_000_000;
            }
            Thread.sleep(10);
        }
        return -1;
    }

    private static String command(RedisServer server, String... args) {
        try {
            return server.command(args);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static long usedMemory(RedisCluster cluster) {
        long sum = 0;
        for (RedisServer m : cluster.masters()) {
            String info = command(m, "INFO", "memory");
            for (String line : info.lines().toList()) {
                if (line.startsWith("used_memory:")) {
                    sum += Long.parseLong(line.substring("used_memory:".length()).trim());
                }
            }
        }
        return sum;
    }

    /** The JVM's used heap after a full collection. */
    private static long heapAfterGc() {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** CPU of the receiving nodes' threads (named {@code recvN-}), in nanoseconds. */
    private static long receivingCpu() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("recv")) {
                long cpu = mx.getThreadCpuTime(t.threadId());
                sum += Math.max(0, cpu);
            }
        }
        return sum;
    }

    private static RedissonClient client(RedisCluster cluster, String threadPrefix) {
        Config config = new Config();
        if (threadPrefix != null) {
            // daemon threads of their own, named, so the receiving nodes' CPU can be summed
            config.setEventLoopGroup(new MultiThreadIoEventLoopGroup(2,
                    Thread.ofPlatform().daemon().name(threadPrefix + "io-", 0).factory(), NioIoHandler.newFactory()));
            config.setExecutor(Executors.newFixedThreadPool(2,
                    Thread.ofPlatform().daemon().name(threadPrefix + "listener-", 0).factory()));
        }
        config.useClusterServers().addNodeAddress(cluster.seeds().getFirst())
                .setSubscriptionsPerConnection(1_000_000)
                .setSubscriptionConnectionPoolSize(4)
                .setMasterConnectionPoolSize(16)
                .setMasterConnectionMinimumIdleSize(4)
                .setSlaveConnectionMinimumIdleSize(0);
        return Redisson.create(config);
    }

    /** One receiving gateway node: its subscriptions and counters. */
    private static final class Node {
        private final RedissonClient redisson;
        private final Set<Integer> held;
        private final Layout layout;
        private final Set<String> shardChannels = new HashSet<>();
        private final Set<String> heldNames = ConcurrentHashMap.newKeySet();
        private final AtomicLong received = new AtomicLong();
        private final AtomicLong delivered = new AtomicLong();
        private final AtomicLong resubscribed = new AtomicLong();
        final Map<String, AtomicInteger> perChannel = new ConcurrentHashMap<>();
        private volatile boolean counting;
        private volatile CountDownLatch done;

        Node(RedissonClient redisson, Set<Integer> held, Layout layout) {
            this.redisson = redisson;
            this.held = held;
            this.layout = layout;
            for (int c : held) {
                shardChannels.add(layout.shardChannel(c));
                heldNames.add(String.valueOf(c));
            }
        }

        void subscribe() throws InterruptedException {
            Semaphore window = new Semaphore(IN_FLIGHT);
            List<CompletableFuture<Integer>> all = new ArrayList<>();
            for (String name : shardChannels) {
                window.acquire();
                RShardedTopic topic = redisson.getShardedTopic(name, StringCodec.INSTANCE);
                topic.addListenerAsync(new StatusListener() {
                    @Override
                    public void onSubscribe(String channel) {
                        if (counting) {
                            resubscribed.incrementAndGet();
                        }
                    }

                    @Override
                    public void onUnsubscribe(String channel) {
                    }
                });
                CompletableFuture<Integer> f = topic.addListenerAsync(String.class, (ch, message) -> onMessage(message))
                        .toCompletableFuture();
                f.whenComplete((r, e) -> window.release());
                all.add(f);
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
        }

        void reset() {
            perChannel.clear();
            received.set(0);
            delivered.set(0);
        }

        void expect(CountDownLatch latch) {
            done = latch;
        }

        void countResubscriptions() {
            resubscribed.set(0);
            counting = true;
        }

        private void onMessage(String message) {
            received.incrementAndGet();
            String channel = message.substring(0, message.indexOf('|'));
            if (heldNames.contains(channel)) {
                perChannel.computeIfAbsent(channel, k -> new AtomicInteger()).incrementAndGet();
                delivered.incrementAndGet();
                CountDownLatch d = done;
                if (d != null) {
                    d.countDown();
                }
            }
        }
    }

    static void print(Options o, List<Result> results) {
        System.out.printf(Locale.ROOT, "%,d channels, each held by %d of %d nodes; %,d publications of %d bytes "
                + "at full speed, then %,d/s for %d s (CPU); 3-master Redis Cluster%n", o.channels, o.holders, NODES,
                o.publications, o.payload, o.rate, o.pacedSeconds);
        System.out.println("| layout | subscriptions per node | subscribe all (ms) | Redis memory for them | "
                + "nodes' heap for them | "
                + "publications/s (full speed) | messages received per one needed | receiving CPU per publication (paced) | "
                + "re-subscribe all after CLIENT KILL (ms) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %,d | %,d | %.1f MiB | %.1f MiB | %,.0f | %.2f | %.1f µs | %,d |%n",
                    r.layout(), r.subscriptionsPerNode(), r.subscribeMillis(), r.subscriptionBytes() / 1048576.0,
                    r.subscriptionHeapBytes() / 1048576.0,
                    r.publicationsPerSecond(), r.receivedPerNeeded(), r.cpuMicrosPerPublication(),
                    r.resubscribeMillis());
        }
    }
}
