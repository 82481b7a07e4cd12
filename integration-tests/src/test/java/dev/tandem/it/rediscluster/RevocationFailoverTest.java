package dev.tandem.it.rediscluster;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.tandem.auth.Principal;
import dev.tandem.harness.RedisCluster;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.revocations.RedisRevocations;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Revocations on a Redis Cluster with replicas: an acknowledged revocation survives its master's
 * death (it was on the replica before the answer), and one that no replica could confirm is
 * refused as {@code unavailable} rather than acknowledged and then forgotten by a failover.
 */
class RevocationFailoverTest {
    @Test
    @Timeout(90)
    void anAcknowledgedRevocationSurvivesAFailoverAndAnUnreplicatedOneIsRefused() throws Exception {
        try (RedisCluster cluster = RedisCluster.start("revocations", 3, 1)) {
            RedissonClient nodeA = ConformanceCluster.connect(cluster);
            RedissonClient nodeB = ConformanceCluster.connect(cluster);
            try {
                RedisRevocations revocations = new RedisRevocations(nodeA, Clock.systemUTC());
                Instant issued = Instant.now().minusSeconds(60);
                Instant until = Instant.now().plusSeconds(3600);
                revocations.revokeUser("acme", "alice", Instant.now(), until);

                int slot = cluster.slot(Keys.revokedUser("acme", "alice"));
                cluster.killMasterOf(slot);
                RedisRevocations afterFailover = new RedisRevocations(nodeB, Clock.systemUTC());
                assertTrue(retry(() -> afterFailover.revoked(principal("acme", "alice", issued))),
                        "the acknowledged revocation is on the promoted replica");

                String other = tenantOnAnotherShard(cluster, slot);
                cluster.cutReplication(cluster.slot(Keys.revokedToken(other, "t-1")));
                ProtocolException refused = assertThrows(ProtocolException.class,
                        () -> revocations.revokeToken(other, "t-1", until));
                assertEquals(ErrorCode.UNAVAILABLE, refused.code(), "no replica confirmed it: not acknowledged");
                afterFailover.close();
                revocations.close();
            } finally {
                nodeA.shutdown();
                nodeB.shutdown();
            }
        }
    }

    /** A tenant whose revocations live on a shard other than {@code slot}'s (which lost its replica). */
    private static String tenantOnAnotherShard(RedisCluster cluster, int slot) {
        for (int i = 0; ; i++) {
            String tenant = "t" + i;
            int s = cluster.slot(Keys.revokedToken(tenant, "t-1"));
            if (cluster.masterOf(s) != cluster.masterOf(slot)) {
                assertNotEquals(slot, s);
                return tenant;
            }
        }
    }

    private static Principal principal(String tenant, String user, Instant issuedAt) {
        return new Principal(tenant, user, Set.of(), Map.of(), Optional.of(Instant.now().plusSeconds(3600)),
                Optional.empty(), Optional.of(issuedAt));
    }

    /** Asks until the cluster answers (commands to the failed slot may still be redirected). */
    private static boolean retry(java.util.function.BooleanSupplier ask) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return ask.getAsBoolean();
            } catch (ProtocolException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }
}
