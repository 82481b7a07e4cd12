package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the benchmark program working (it is run by hand, with larger figures): a small run
 * against a real child-process gateway must deliver every publication to every connection.
 * Asserts counts, never timings.
 */
class FanoutBenchmarkTest {
    @Test
    void aSmallRunDeliversEveryPublicationToEveryConnection() throws Exception {
        FanoutBenchmark.Options o = FanoutBenchmark.Options.parse(new String[] {
                "--connections", "40", "--publications", "25", "--rate", "200"});
        FanoutBenchmark.Result r = FanoutBenchmark.run(o);
        FanoutBenchmark.print(o, r);
        assertEquals(1000, r.expectedDeliveries());
        assertEquals(r.expectedDeliveries(), r.deliveries());
        assertTrue(r.heapPerConnectionBytes().isPresent());
        assertTrue(r.p50Nanos() > 0 && r.p99Nanos() >= r.p50Nanos() && r.maxNanos() >= r.p99Nanos());
    }
}
