package dev.tandem.conflict;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import dev.tandem.auth.Principal;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Edit;
import dev.tandem.document.Outbox;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The outbox as the relay reads it, on H2 and on PostgreSQL. */
class OutboxTableTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Principal ALICE = new Principal("acme", "alice", Set.of(), Map.of(), Optional.empty());
    private static final String SCHEMA = "tandem_outbox_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    @TempDir
    static Path dir;

    static Stream<String> vendors() {
        return Stream.of("h2", "postgresql");
    }

    private static DocumentStore open(String vendor) {
        Config c = vendor.equals("h2")
                ? H2DocumentStoreTest.config(Map.of("prune-interval", "PT0S"), dir.resolve("outbox-" + UUID.randomUUID()))
                : PostgresDocumentStoreTest.config(Map.of(), TestServices.postgres(), SCHEMA);
        return DocumentStore.create(c);
    }

    @AfterAll
    static void dropSchema() throws Exception {
        try (Connection c = TestServices.postgres().connect(); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
        }
    }

    private static void write(DocumentStore store, String id, int version, int qty) throws Exception {
        var data = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree("{\"qty\":" + qty + "}");
        store.apply(ALICE, new DocOp(new DocRef("stock", id), version, "dev-" + id + ":" + (version + 1),
                new Edit.Replace(data)));
    }

    @ParameterizedTest
    @MethodSource("vendors")
    void everyAcceptedChangeWaitsInTheOutboxInOrderUntilMarked(String vendor) throws Exception {
        try (DocumentStore store = open(vendor)) {
            Outbox outbox = store.outbox();
            long before = outbox.backlog();
            String doc = "d-" + UUID.randomUUID().toString().substring(0, 8);
            write(store, doc, 0, 1);
            write(store, doc, 1, 2);
            write(store, doc, 2, 3);
            List<Outbox.Entry> rows = outbox.unpublished(1000).stream().filter(e -> e.key().endsWith("/" + doc)).toList();
            assertEquals(3, rows.size());
            assertEquals(before + 3, outbox.backlog());
            for (int i = 0; i < rows.size(); i++) {
                JsonNode event = JSON.readTree(new String(rows.get(i).value(), StandardCharsets.UTF_8));
                assertEquals("1.0", event.path("specversion").asText());
                assertEquals("acme", event.path("tenantid").asText());
                assertEquals(i + 1, event.path("data").path("version").asInt(), "one document's changes in version order");
                assertEquals("acme/stock/" + doc, rows.get(i).key());
            }
            outbox.markPublished(rows.stream().map(Outbox.Entry::id).toList());
            assertTrue(outbox.unpublished(1000).stream().noneMatch(e -> e.key().endsWith("/" + doc)));
            assertEquals(before, outbox.backlog());
        }
    }

    @ParameterizedTest
    @MethodSource("vendors")
    void oneRelayHoldsTheLeaseUntilItStopsRenewing(String vendor) throws Exception {
        try (DocumentStore store = open(vendor)) {
            Outbox outbox = store.outbox();
            String a = "node-a-" + UUID.randomUUID();
            String b = "node-b-" + UUID.randomUUID();
            // whoever held it in an earlier run of this database: wait for that lease to lapse
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!outbox.acquireLease(a, Duration.ofMillis(600)) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(outbox.acquireLease(a, Duration.ofMillis(600)), "a renews its own lease");
            assertFalse(outbox.acquireLease(b, Duration.ofMillis(600)), "b must wait");
            Thread.sleep(800);
            assertTrue(outbox.acquireLease(b, Duration.ofSeconds(1)), "a stopped renewing: b takes over");
            assertFalse(outbox.acquireLease(a, Duration.ofSeconds(1)));
        }
    }

    @ParameterizedTest
    @MethodSource("vendors")
    void theWebhookReaderHasItsOwnCursorAndLeaseAndAReaderThatIsOffIsDoneAtOnce(String vendor) throws Exception {
        try (DocumentStore store = open(vendor)) {
            store.writeOutbox(true, true);
            Outbox kafka = store.outbox();
            Outbox webhooks = store.webhookOutbox();
            String doc = "w-" + UUID.randomUUID().toString().substring(0, 8);
            write(store, doc, 0, 1);
            List<Outbox.Entry> forKafka = kafka.unpublished(1000).stream().filter(e -> e.key().endsWith("/" + doc)).toList();
            List<Outbox.Entry> forHooks = webhooks.unpublished(1000).stream().filter(e -> e.key().endsWith("/" + doc)).toList();
            assertEquals(1, forKafka.size());
            assertEquals(1, forHooks.size());
            kafka.markPublished(forKafka.stream().map(Outbox.Entry::id).toList());
            assertTrue(webhooks.unpublished(1000).stream().anyMatch(e -> e.key().endsWith("/" + doc)),
                    "relayed to Kafka is not delivered to the webhook");
            webhooks.markPublished(forHooks.stream().map(Outbox.Entry::id).toList());
            assertTrue(webhooks.unpublished(1000).stream().noneMatch(e -> e.key().endsWith("/" + doc)));

            String holder = "hooks-" + UUID.randomUUID();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!webhooks.acquireLease(holder, Duration.ofSeconds(5)) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(webhooks.acquireLease(holder, Duration.ofSeconds(5)), "the webhook lease is free");

            store.writeOutbox(false, true);
            String only = "o-" + UUID.randomUUID().toString().substring(0, 8);
            write(store, only, 0, 1);
            assertTrue(kafka.unpublished(1000).stream().noneMatch(e -> e.key().endsWith("/" + only)),
                    "Kafka is off: done with the row at once");
            assertTrue(webhooks.unpublished(1000).stream().anyMatch(e -> e.key().endsWith("/" + only)));
        }
    }
}
