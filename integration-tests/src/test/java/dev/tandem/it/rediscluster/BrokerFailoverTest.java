package dev.tandem.it.rediscluster;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.harness.RedisCluster;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.broker.RedisBroker;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A master SIGKILLed mid-traffic on a Redis Cluster of three masters and three replicas, its
 * replica promoted without the master's last half second of writes (replication to it was cut
 * first, as when a replica lags behind): the broker tells the truth. Two gateway nodes (brokers with their own
 * clients): subscribers on A, publishers on B, channels on every shard. The channels of the
 * failed shard start a new epoch (the replica may lack the newest writes), so a subscriber
 * never sees two publications under one offset and a client resuming from an old position is
 * told {@code recovered: false}; every acknowledged publication of the epoch the channel ends
 * in arrives; the other shards' channels keep their epoch and lose nothing. Node A's readiness
 * goes DOWN while its subscription to the failed shard is broken and UP again by itself.
 */
class BrokerFailoverTest {
    private static final int CHANNELS = 24;
    private final FrameCodec codec = FrameCodec.create();
    private final ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of(
            "namespaces.location.history-size", "100000"))));

    @Test
    @Timeout(120)
    void aMasterKilledMidTrafficStartsNewEpochsOnItsShardOnlyAndNothingIsSilentlyLost() throws Exception {
        try (RedisCluster cluster = RedisCluster.start("failover", 3, 1)) {
            RedissonClient clientA = ConformanceCluster.connect(cluster);
            RedissonClient clientB = ConformanceCluster.connect(cluster);
            RedisBroker nodeA = new RedisBroker(clientA, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                    Clock.systemUTC());
            RedisBroker nodeB = new RedisBroker(clientB, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                    Clock.systemUTC());
            ExecutorService publishers = Executors.newFixedThreadPool(4);
            try {
                List<ChannelKey> channels = new ArrayList<>();
                Map<ChannelKey, Received> received = new HashMap<>();
                for (int i = 0; i < CHANNELS; i++) {
                    ChannelKey ch = rules.resolve("acme", "location:wh-" + i);
                    channels.add(ch);
                    Received r = new Received();
                    received.put(ch, r);
                    nodeA.subscribe(ch, r, Optional.empty(), rec -> { });
                }
                await(nodeA::delivering, "node A delivering");
                int victimSlot = cluster.slot(Keys.meta(channels.getFirst()));
                Set<ChannelKey> onVictim = new HashSet<>();
                for (ChannelKey ch : channels) {
                    if (cluster.masterOf(cluster.slot(Keys.meta(ch))) == cluster.masterOf(victimSlot)) {
                        onVictim.add(ch);
                    }
                }
                assertTrue(onVictim.size() < CHANNELS, "channels on other shards too");
                Map<ChannelKey, Position> before = new HashMap<>();

                // publishers: each channel in turn, each publication retried until acknowledged
                AtomicBoolean stop = new AtomicBoolean();
                Map<ChannelKey, List<Publication>> acknowledged = new ConcurrentHashMap<>();
                List<Future<?>> running = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int first = t;
                    running.add(publishers.submit(() -> {
                        int n = 0;
                        while (!stop.get()) {
                            for (int i = first; i < CHANNELS; i += 4) {
                                ChannelKey ch = channels.get(i);
                                acknowledged.computeIfAbsent(ch, k -> new CopyOnWriteArrayList<>())
                                        .add(publishUntilAcknowledged(nodeB, ch, n));
                            }
                            n++;
                        }
                        return null;
                    }));
                }
                TimeUnit.MILLISECONDS.sleep(1500);
                for (ChannelKey ch : channels) {
                    before.put(ch, received.get(ch).last());
                }
                cluster.cutReplication(victimSlot); // its replica falls behind: the newest writes die with it
                TimeUnit.MILLISECONDS.sleep(500);
                cluster.killMasterOf(victimSlot);
                await(() -> !nodeA.delivering(), "node A not ready while its subscription to the failed shard is down");
                await(nodeA::delivering, "node A ready again by itself");
                TimeUnit.MILLISECONDS.sleep(1500); // traffic after the failover
                stop.set(true);
                for (Future<?> f : running) {
                    f.get(30, TimeUnit.SECONDS);
                }

                for (ChannelKey ch : channels) {
                    Received r = received.get(ch);
                    List<Publication> acked = acknowledged.get(ch);
                    Publication lastAcked = acked.getLast();
                    await(() -> r.has(lastAcked), ch + " receives its last acknowledged publication "
                            + lastAcked.position().orElseThrow());
                    r.assertTruthful(ch);
                    String finalEpoch = lastAcked.position().orElseThrow().epoch();
                    for (Publication p : acked) {
                        if (p.position().orElseThrow().epoch().equals(finalEpoch)) {
                            assertTrue(r.has(p), ch + ": acknowledged " + p.position().orElseThrow()
                                    + " of the channel's epoch arrived (that publication, not another at its offset)");
                        }
                    }
                    Recovery resume = nodeA.subscribe(ch, new Received(), Optional.of(before.get(ch)), rec -> { });
                    if (onVictim.contains(ch)) {
                        assertNotEquals(before.get(ch).epoch(), finalEpoch, ch + " on the failed shard: new epoch");
                        assertFalse(resume.recovered(), ch + ": an old position is told recovered: false");
                    } else {
                        assertEquals(before.get(ch).epoch(), finalEpoch, ch + " on a healthy shard keeps its epoch");
                        assertTrue(resume.recovered(), ch + ": resumes without a gap");
                        assertEquals(acked.size(), r.count(), ch + ": every acknowledged publication, once");
                    }
                }
            } finally {
                publishers.shutdownNow();
                nodeA.close();
                nodeB.close();
                clientA.shutdown();
                clientB.shutdown();
            }
        }
    }

    private Publication publishUntilAcknowledged(RedisBroker node, ChannelKey ch, int n) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return node.publish(ch, Draft.durable("n", codec.object().put("n", n)));
            } catch (ProtocolException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                sleep(100); // the shard is failing over: try again, as a client would
            }
        }
    }

    /** What one subscriber got, in order. */
    private static final class Received implements Subscriber {
        private final List<Position> positions = new ArrayList<>();
        private final Map<Position, String> ids = new HashMap<>();
        private final List<String> duplicates = new ArrayList<>();

        @Override
        public synchronized void deliver(Publication p, Encoded frame) {
            Position pos = p.position().orElseThrow();
            if (ids.containsKey(pos)) {
                duplicates.add(pos + (ids.get(pos).equals(p.eventId()) ? " twice" : " for two publications"));
            }
            ids.put(pos, p.eventId());
            positions.add(pos);
        }

        /** Whether this very publication arrived (its event id at its position). */
        synchronized boolean has(Publication p) {
            return p.eventId().equals(ids.get(p.position().orElseThrow()));
        }

        synchronized int count() {
            return positions.size();
        }

        synchronized Position last() {
            return positions.isEmpty() ? new Position("", 0) : positions.getLast();
        }

        /** Offsets step by one within an epoch; a new epoch starts at 1; nothing twice. */
        synchronized void assertTruthful(ChannelKey ch) {
            assertEquals(List.of(), duplicates, ch + ": no offset delivered twice");
            Position prev = null;
            for (Position p : positions) {
                if (prev == null || !prev.epoch().equals(p.epoch())) {
                    if (prev != null && p.offset() != 1) {
                        fail(ch + ": new epoch " + p.epoch() + " started at " + p.offset() + " (gap): " + positions);
                    }
                } else if (p.offset() != prev.offset() + 1) {
                    fail(ch + ": gap or reorder " + prev + " -> " + p + ": " + positions);
                }
                prev = p;
            }
        }
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting: " + what);
            }
            sleep(50);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
