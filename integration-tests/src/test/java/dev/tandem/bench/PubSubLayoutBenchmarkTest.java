package dev.tandem.bench;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the pub/sub layout benchmark working (it is run by hand, with larger figures): a small
 * run on a real three-master Redis Cluster delivers every publication to every node holding
 * its channel in both layouts, and the partitioned layout hands nodes messages they do not
 * need. Asserts counts, never timings.
 */
class PubSubLayoutBenchmarkTest {
    @Test
    void bothLayoutsDeliverEverythingAndOnlyPartitionsDeliverMore() throws Exception {
        PubSubLayoutBenchmark.Options o = PubSubLayoutBenchmark.Options.parse(new String[] {
                "--channels", "300", "--publications", "3000", "--rate", "1000", "--paced-seconds", "1"});
        List<PubSubLayoutBenchmark.Result> results = PubSubLayoutBenchmark.run(o);
        PubSubLayoutBenchmark.print(o, results);
        PubSubLayoutBenchmark.Result perChannel = results.get(0);
        PubSubLayoutBenchmark.Result partitioned = results.get(1);
        assertEquals(perChannel.needed(), perChannel.delivered());
        assertEquals(partitioned.needed(), partitioned.delivered());
        assertEquals(1.0, perChannel.receivedPerNeeded(), 1e-9, "one subscription per channel: only what is held");
        assertTrue(partitioned.receivedPerNeeded() > 1.5, "partitions: other channels' messages too");
        assertTrue(partitioned.subscriptionsPerNode() <= 128, "at most one subscription per partition");
    }
}
