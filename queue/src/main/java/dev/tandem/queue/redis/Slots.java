package dev.tandem.queue.redis;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisClusterMaster;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.cluster.ClusterSlotRange;
import org.redisson.connection.CRC16;

/** Hash slots of a Redis Cluster: which slot a key is in, and who serves the slots now. */
public final class Slots {
    /** Slots of a Redis Cluster. */
    public static final int COUNT = 16384;

    private Slots() {
    }

    /** The hash slot of a key or shard channel, as Redis computes it (its hash tag when it has one). */
    public static int of(String key) {
        int open = key.indexOf('{');
        if (open >= 0) {
            int close = key.indexOf('}', open + 1);
            if (close > open + 1) {
                key = key.substring(open + 1, close);
            }
        }
        return CRC16.crc16(key.getBytes(StandardCharsets.UTF_8)) % COUNT;
    }

    /**
     * The cluster's slot map as a live master reports it ({@code CLUSTER SLOTS}): each range with
     * the addresses of the nodes serving it that are not failed, master first. Empty when no
     * master answers.
     */
    public static Optional<Map<ClusterSlotRange, Set<String>>> map(RedissonClient redisson) {
        for (RedisClusterMaster m : redisson.getRedisNodes(RedisNodes.CLUSTER).getMasters()) {
            try {
                return Optional.of(m.clusterSlots());
            } catch (RuntimeException e) {
                // that master is gone: ask the next
            }
        }
        return Optional.empty();
    }
}
