package dev.tandem.bench;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the scaling benchmark working (it is run by hand, with larger figures): a small run
 * through one Redis and Redis Clusters of one, two and three shards delivers every publication
 * to both nodes (the run fails otherwise) and measures each setup. Asserts counts, never timings.
 */
class RedisScalingBenchmarkTest {
    @Test
    void aSmallRunGoesThroughEverySetup() throws Exception {
        RedisScalingBenchmark.Options o = RedisScalingBenchmark.Options.parse(new String[] {
                "--publications", "2000", "--channels", "50", "--publishers", "8"});
        List<RedisScalingBenchmark.Result> results = RedisScalingBenchmark.run(o);
        RedisScalingBenchmark.print(o, results);
        assertEquals(List.of("one Redis", "Redis Cluster, 1 shard", "Redis Cluster, 2 shards", "Redis Cluster, 3 shards"),
                results.stream().map(RedisScalingBenchmark.Result::setup).toList());
        for (RedisScalingBenchmark.Result r : results) {
            assertTrue(r.publicationsPerSecond() > 0 && r.nodeCpuMicros() > 0 && r.redisCpuMicros() > 0, r.toString());
        }
    }
}
