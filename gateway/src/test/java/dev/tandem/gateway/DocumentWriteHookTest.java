package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The document-write hook is asked with no row lock and no pooled connection held: under a
 * backend that takes 1.5 s to answer, many users writing at once are all applied within about two
 * delays (not a connection pool's worth at a time), reads of other documents keep answering at
 * once, and the author hears the answer before the change is published.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DocumentWriteHookTest {
    private static final long DELAY_MS = 1_500;
    private static final int WRITERS = 40;

    private FakeBackend backend;
    private TestGateway node;

    @BeforeAll
    void start() throws Exception {
        backend = new FakeBackend();
        backend.on("/document-write", body -> new FakeBackend.Answer(200, "{\"result\":\"allow\"}", DELAY_MS));
        node = TestGateway.start(Map.of(
                "tandem.hooks.secret", FakeBackend.SECRET,
                "tandem.hooks.timeout", "PT3S",
                "tandem.hooks.document-write.url", backend.url("/document-write")));
    }

    @AfterAll
    void stop() {
        node.close();
        backend.close();
    }

    private static String token(String user) {
        return TestGateway.token(user, "acme", Map.of(), Duration.ofHours(1));
    }

    private static String create(long id, String docId, String opId) {
        return "{\"op\":\"doc.update\",\"id\":" + id + ",\"docType\":\"note\",\"docId\":\"" + docId
                + "\",\"baseVersion\":0,\"opId\":\"" + opId + "\",\"data\":{\"text\":\"hello\"}}";
    }

    @Test
    @Timeout(120)
    void manyWritersUnderASlowHookAreAllAppliedWithinAboutTwoDelaysAndOtherReadsStayFast() throws Exception {
        List<WsProbe> writers = new ArrayList<>();
        try (WsProbe reader = ContractProbes.connect(node.ws(), token("reader"))) {
            JsonNode seeded = reader.request(2, create(2, "other", "r:1"));
            assertEquals("applied", seeded.path("result").asText(), seeded.toString());
            for (int i = 0; i < WRITERS; i++) {
                writers.add(ContractProbes.connect(node.ws(), token("writer-" + i)));
            }
            AtomicBoolean writing = new AtomicBoolean(true);
            List<Long> readMillis = new CopyOnWriteArrayList<>();
            List<String> readFailures = new CopyOnWriteArrayList<>();
            CompletableFuture<Void> reads = CompletableFuture.runAsync(() -> {
                long id = 100;
                while (writing.get()) {
                    long t = System.nanoTime();
                    try {
                        JsonNode got = reader.request(id, "{\"op\":\"doc.get\",\"id\":" + id
                                + ",\"docType\":\"note\",\"docId\":\"other\"}");
                        if (!got.path("document").isObject()) {
                            readFailures.add(got.toString());
                        }
                        readMillis.add((System.nanoTime() - t) / 1_000_000);
                        Thread.sleep(100); // a reader, not a flood
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    id++;
                }
            });

            long start = System.nanoTime();
            for (int i = 0; i < WRITERS; i++) {
                writers.get(i).send(create(3, "w-" + i, "w" + i + ":1"));
            }
            List<String> results = new ArrayList<>();
            for (WsProbe w : writers) {
                JsonNode answer = w.answer(3);
                results.add(answer.path("result").asText(answer.path("code").asText()));
            }
            long took = (System.nanoTime() - start) / 1_000_000;
            writing.set(false);
            reads.get(10, TimeUnit.SECONDS);

            assertEquals(List.of("applied"), results.stream().distinct().toList(), "every writer: " + results);
            assertTrue(took < 2 * DELAY_MS + 500, "all " + WRITERS + " applied in about two hook delays, took " + took + " ms");
            assertEquals(List.of(), readFailures);
            assertTrue(readMillis.size() >= 3, "reads went on while the hook judged: " + readMillis);
            long slowest = readMillis.stream().mapToLong(Long::longValue).max().orElseThrow();
            assertTrue(slowest < 500, "a read of another document never waits for the hook: " + readMillis);
            assertTrue(backend.calls.size() >= WRITERS + 1, "each write was judged by the backend");
        } finally {
            writers.forEach(WsProbe::close);
        }
    }

    @Test
    @Timeout(60)
    void theAuthorIsAnsweredBeforeTheChangeIsPublished() throws Exception {
        try (WsProbe author = ContractProbes.connect(node.ws(), token("author"))) {
            JsonNode sub = author.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"doc:note:ordered\"}");
            assertEquals("reply", sub.path("op").asText(), sub.toString());
            author.send(create(3, "ordered", "a:1"));
            JsonNode first = author.expect(f -> f.path("op").asText().equals("reply")
                    || f.path("op").asText().equals("event"));
            assertEquals("reply", first.path("op").asText(), "the answer comes first: " + first);
            assertEquals("applied", first.path("result").asText(), first.toString());
            JsonNode changed = author.expect(f -> f.path("op").asText().equals("event"));
            assertEquals("doc.changed", changed.path("type").asText());
        }
    }
}
