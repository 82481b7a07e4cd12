package dev.tandem.bench;

import org.junit.jupiter.api.Test;

import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the Kafka benchmark program working (it is run by hand, with larger figures): a small
 * run on two real child-process nodes delivers every event to every client, and the nodes'
 * ingest-delay histogram counts each event once. Counts, not timings.
 */
class KafkaLatencyBenchmarkTest {
    @Test
    void aSmallRunAcrossTwoNodesDeliversEveryEventToEveryClient() throws Exception {
        KafkaLatencyBenchmark.Options o = KafkaLatencyBenchmark.Options.parse(new String[] {
                "--connections", "20", "--events", "30", "--rate", "100",
                "--kafka", TestServices.kafka(), "--redis", TestServices.redis()});
        KafkaLatencyBenchmark.Result r = KafkaLatencyBenchmark.run(o);
        KafkaLatencyBenchmark.print(o, r);
        assertEquals(600, r.expected());
        assertEquals(r.expected(), r.delivered());
        assertTrue(r.p50Nanos() > 0 && r.maxNanos() >= r.p99Nanos());
        assertEquals(30, r.ingested(), "the gateways' tandem_kafka_ingest_delay_seconds counts each timed event once");
    }
}
