package dev.tandem.conformance;

import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.OpResult;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.tandem.conformance.DocumentsFixture.inc;
import static dev.tandem.conformance.DocumentsFixture.obj;
import static dev.tandem.conformance.DocumentsFixture.replace;
import static dev.tandem.conformance.DocumentsFixture.stock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Concurrent writers of one document: no update is lost, and one batch replayed by several
 * connections at once applies each operation exactly once.
 */
interface DocumentConcurrencyContract extends DocumentsFixture {
    /** How many operations each of the concurrent writers makes. */
    int opsPerConcurrentWriter();

    /** Several writers on one document with stale bases: every delta counts once, every version once. */
    @Test
    @Timeout(60)
    default void concurrentWritersLoseNoUpdate() throws Exception {
        DocRef ref = stock("HOT");
        int threads = 6;
        int perThread = opsPerConcurrentWriter();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> sums = new ArrayList<>();
        try {
            for (int t = 0; t < threads; t++) {
                int thread = t;
                sums.add(pool.submit(() -> {
                    start.await();
                    int sum = 0;
                    for (int i = 1; i <= perThread; i++) {
                        int delta = ThreadLocalRandom.current().nextInt(1, 10);
                        // base 0: every thread races to create; later ops use whatever version they saw
                        long base = docs().get(alice(), ref).map(Document::version).orElse(0L);
                        OpResult r = docs().apply(alice(), inc(ref, base, "w" + thread + ":" + i, "quantity", delta));
                        assertTrue(r instanceof OpResult.Applied || r instanceof OpResult.Merged, r.toString());
                        sum += delta;
                    }
                    return sum;
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : sums) {
                total += f.get(50, TimeUnit.SECONDS);
            }
            Document doc = docs().get(alice(), ref).orElseThrow();
            assertEquals(total, doc.data().get("quantity").intValue());
            assertEquals((long) threads * perThread, doc.version());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The same offline batch replayed at the same time by several connections (a reconnect storm
     * across nodes): every operation takes effect exactly once, the other deliveries are duplicates.
     */
    @Test
    @Timeout(60)
    default void concurrentReplaysOfOneBatchApplyEachOpExactlyOnce() throws Exception {
        DocRef ref = stock("STORM");
        docs().apply(alice(), replace(ref, 0, "setup:1", obj("quantity", 0)));
        List<DocOp> batch = new ArrayList<>();
        int sum = 0;
        for (int i = 1; i <= 20; i++) {
            batch.add(inc(ref, 1, "tablet:" + i, "quantity", i));
            sum += i;
        }
        int replays = 4;
        ExecutorService pool = Executors.newFixedThreadPool(replays);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<List<OpResult>>> runs = new ArrayList<>();
            for (int t = 0; t < replays; t++) {
                runs.add(pool.submit(() -> {
                    start.await();
                    return docs().sync(bob(), batch);
                }));
            }
            start.countDown();
            int[] effective = new int[batch.size()];
            for (Future<List<OpResult>> run : runs) {
                List<OpResult> results = run.get(50, TimeUnit.SECONDS);
                for (int i = 0; i < results.size(); i++) {
                    if (!(results.get(i) instanceof OpResult.Duplicate)) {
                        effective[i]++;
                    }
                }
            }
            for (int i = 0; i < effective.length; i++) {
                assertEquals(1, effective[i], "op " + batch.get(i).opId());
            }
            Document doc = docs().get(alice(), ref).orElseThrow();
            assertEquals(sum, doc.data().get("quantity").intValue());
            assertEquals(1 + batch.size(), doc.version());
        } finally {
            pool.shutdownNow();
        }
    }
}
