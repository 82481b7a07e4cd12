package dev.tandem.queue.redis.broker;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;

import dev.tandem.queue.redis.Slots;

import org.redisson.api.RShardedTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.cluster.ClusterSlotRange;

/**
 * Checks, shard by shard, that this node's sharded pub/sub delivers. Every {@value #PROBE_MILLIS}
 * ms it publishes to one probe channel per shard (a shard channel in a slot of that shard, only
 * this node listens to it); a shard whose probes have not come back for {@value #TIMEOUT_MILLIS}
 * ms is broken, and {@link #delivering()} is false while any is. A probe broken for twice that
 * long is subscribed again. When a broken shard delivers again, the broker catches up the
 * channels of that shard from their history. On a cluster the shards are re-read from the slot
 * map every few seconds (and while a probe is late), so a failover or a resharding moves the
 * probes with the slots; on one Redis there is one probe.
 */
final class ShardProbe implements AutoCloseable {
    static final long PROBE_MILLIS = 500;
    static final long TIMEOUT_MILLIS = 2000;
    private static final System.Logger LOG = System.getLogger(ShardProbe.class.getName());
    /** Probe rounds between two reads of the slot map. */
    private static final int TOPOLOGY_ROUNDS = 10;

    private final RedissonClient redisson;
    private final boolean cluster;
    private final String token;
    private final Consumer<IntPredicate> recovered;
    private final IntSupplier listened;
    private final Map<String, Probe> probes = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;
    private int round;

    /**
     * Starts probing.
     *
     * @param recovered called (on a virtual thread) with the slots of a shard that delivers again
     * @param listened  how many channels this node listens to, for the log
     */
    ShardProbe(RedissonClient redisson, Consumer<IntPredicate> recovered, IntSupplier listened) {
        this.redisson = redisson;
        this.cluster = redisson.getConfig().isClusterConfig();
        this.recovered = recovered;
        this.listened = listened;
        byte[] b = new byte[6];
        new SecureRandom().nextBytes(b);
        this.token = HexFormat.of().formatHex(b);
        this.timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("tandem-broker-probe").factory());
        timer.scheduleWithFixedDelay(this::round, 0, PROBE_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Whether every shard's probe came back within the timeout (false before the shards are known). */
    boolean delivering() {
        if (probes.isEmpty()) {
            return false;
        }
        for (Probe p : probes.values()) {
            if (p.late()) {
                return false;
            }
        }
        return true;
    }

    private void round() {
        try {
            boolean anyLate = probes.values().stream().anyMatch(Probe::late);
            if (round++ % TOPOLOGY_ROUNDS == 0 || anyLate || probes.isEmpty()) {
                refreshShards();
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "cannot read the cluster's slot map", e);
        }
        for (Probe p : probes.values()) {
            p.round();
        }
    }

    /** Makes the probes match the shards: one per shard, each in a slot of its shard. */
    private void refreshShards() {
        Map<String, IntPredicate> wanted = new HashMap<>();
        if (!cluster) {
            wanted.put("tandem:probe:{" + token + "}", slot -> true);
        } else {
            Optional<Map<ClusterSlotRange, Set<String>>> slots = Slots.map(redisson);
            if (slots.isEmpty()) {
                return;
            }
            Map<Set<String>, List<ClusterSlotRange>> shards = new HashMap<>();
            slots.get().forEach((range, nodes) -> shards.computeIfAbsent(new TreeSet<>(nodes), k -> new ArrayList<>())
                    .add(range));
            for (List<ClusterSlotRange> ranges : shards.values()) {
                ClusterSlotRange largest = ranges.stream().max(Comparator.comparingInt(ClusterSlotRange::size))
                        .orElseThrow();
                List<ClusterSlotRange> held = List.copyOf(ranges);
                wanted.put(probeChannel(largest), slot -> held.stream().anyMatch(r -> r.hasSlot(slot)));
            }
        }
        wanted.forEach((channel, shard) -> probes.computeIfAbsent(channel, c -> new Probe(c, shard)).shard = shard);
        probes.keySet().removeIf(channel -> {
            if (wanted.containsKey(channel)) {
                return false;
            }
            probes.get(channel).stop();
            return true;
        });
    }

    /** A shard channel of this node in {@code range}: the first {@code token-i} whose slot falls in it. */
    private String probeChannel(ClusterSlotRange range) {
        for (int i = 0; ; i++) {
            String tag = token + "-" + i;
            if (range.hasSlot(Slots.of(tag))) {
                return "tandem:probe:{" + tag + "}";
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        probes.values().forEach(Probe::stop);
        probes.clear();
    }

    /** The probe of one shard. Its mutable fields are used by the timer thread, and lastSeen by listeners. */
    private final class Probe {
        private final String channel;
        private final RShardedTopic topic;
        private volatile IntPredicate shard;
        private volatile long lastSeen = System.nanoTime();
        private volatile boolean broken;
        private long brokenSince;
        private Optional<Integer> listener = Optional.empty();

        Probe(String channel, IntPredicate shard) {
            this.channel = channel;
            this.shard = shard;
            this.topic = redisson.getShardedTopic(channel, StringCodec.INSTANCE);
        }

        boolean late() {
            return System.nanoTime() - lastSeen >= TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS);
        }

        void round() {
            try {
                boolean late = late();
                if (late && !broken) {
                    broken = true;
                    brokenSince = System.nanoTime();
                    LOG.log(System.Logger.Level.WARNING, "Redis pub/sub of the shard of " + channel + " does not "
                            + "deliver to this node: readiness DOWN until it recovers (" + listened.getAsInt()
                            + " channels listened to)");
                }
                if (listener.isEmpty()
                        || late && System.nanoTime() - brokenSince > TimeUnit.MILLISECONDS.toNanos(2 * TIMEOUT_MILLIS)) {
                    // not subscribed yet, or broken for long: subscribe again
                    listener.ifPresent(topic::removeListenerAsync);
                    listener = Optional.empty();
                    brokenSince = System.nanoTime();
                    listener = Optional.of(topic.addListener(String.class, (c, message) -> arrived()));
                }
                topic.publishAsync(String.valueOf(System.nanoTime()));
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "pub/sub probe " + channel + " failed", e);
            }
        }

        private void arrived() {
            lastSeen = System.nanoTime();
            if (broken) {
                broken = false;
                LOG.log(System.Logger.Level.WARNING, "Redis pub/sub of the shard of " + channel + " delivers again: "
                        + "catching up its channels from their history");
                IntPredicate slots = shard;
                Thread.ofVirtual().name("tandem-broker-catch-up").start(() -> recovered.accept(slots));
            }
        }

        void stop() {
            listener.ifPresent(id -> topic.removeListenerAsync(id));
        }
    }
}
