package dev.tandem.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tandem.broker.MemoryBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.operations.Channels;
import dev.tandem.operations.Operations;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.telemetry.Telemetry;
import dev.tandem.testing.KafkaTopics;
import dev.tandem.events.CloudEvent;
import dev.tandem.events.CloudEventCodec;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.testing.TestServices;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ingest against a real Kafka broker. */
class KafkaIngestTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Published(String tenant, List<String> channels, CloudEvent event) {
    }

    private final List<Published> published = Collections.synchronizedList(new ArrayList<>());
    private final Operations operations = Operations.builder()
            .broker(new MemoryBroker(new Hub(FrameCodec.create(), Telemetry.NOOP), ChannelRules.create(), Telemetry.NOOP,
                    Clock.systemUTC()))
            .verifier(token -> {
                throw new ProtocolException(ErrorCode.UNAUTHORIZED, "no tokens here");
            })
            .build();
    private String bootstrap;
    private String topicIn;
    private String topicDlq;
    private KafkaProducer<String, String> producer;
    private KafkaIngest ingest;

    @BeforeEach
    void setUp() {
        bootstrap = TestServices.kafka();
        String run = UUID.randomUUID().toString().substring(0, 8);
        topicIn = "test.in." + run;
        topicDlq = "test.dlq." + run;
        producer = KafkaTopics.producer();
    }

    @AfterEach
    void tearDown() {
        operations.close();
        if (ingest != null) {
            ingest.close();
        }
        producer.close();
    }

    private KafkaSettings settings(String group) {
        return KafkaSettings.create(Config.just(ConfigSources.create(Map.of(
                "bootstrap-servers", bootstrap,
                "topic-in", topicIn,
                "topic-dead-letter", topicDlq,
                "group-id", group,
                "retry-backoff", "PT0.2S",
                "routes.0.type", "stock.*",
                "routes.0.channels", "location:{data.locationId}")))).orElseThrow();
    }

    /**
     * The operations' own sink (what the gateway wires: it judges the channels, publishes to a
     * memory broker), recording what it took.
     */
    private KafkaIngest.EventSink recording() {
        return (tenant, channels, e) -> {
            operations.channels().ingest(tenant, channels, e);
            published.add(new Published(tenant, channels, e));
        };
    }

    private void start(String group, KafkaIngest.EventSink sink) {
        ingest = KafkaIngest.start(settings(group), sink, new CloudEventCodec(dev.tandem.protocol.FrameCodec.create()));
    }

    private void produce(String key, String value) throws Exception {
        producer.send(new ProducerRecord<>(topicIn, key, value)).get();
    }

    private static String event(String id, String type, String extra, String data) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/erp\",\"type\":\"" + type
                + "\",\"tenantid\":\"acme\"" + extra + ",\"data\":" + data + "}";
    }

    private void awaitPublished(int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (published.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(published.size() >= n, "published " + published.size() + " of " + n);
    }

    @Test
    void deliversEventsToTheirChannelsOrByRoutingRule() throws Exception {
        start("g-" + UUID.randomUUID(), recording());
        produce("acme/sku-1", event("e1", "invoice.paid", ",\"channels\":\"user:bob,tenant\"", "{\"n\":1}"));
        produce("acme/sku-1", event("e2", "stock.updated", "", "{\"locationId\":\"wh-7\",\"qty\":3}"));
        awaitPublished(2);
        assertEquals(new Published("acme", List.of("user:bob", "tenant"), published.get(0).event()), published.get(0));
        assertEquals(List.of("location:wh-7"), published.get(1).channels());
        assertEquals("e2", published.get(1).event().id());
    }

    @Test
    void tellsHowOldEachEventWasByItsRecordTimestamp() throws Exception {
        List<Duration> delays = new java.util.concurrent.CopyOnWriteArrayList<>();
        ingest = KafkaIngest.start(settings("g-" + UUID.randomUUID()), recording(),
                new CloudEventCodec(dev.tandem.protocol.FrameCodec.create()), delays::add);
        long minuteAgo = System.currentTimeMillis() - 60_000;
        producer.send(new ProducerRecord<>(topicIn, null, minuteAgo, "k",
                event("old", "invoice.paid", ",\"channels\":\"tenant\"", "{}"))).get();
        produce("k", event("new", "invoice.paid", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(2);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (delays.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(2, delays.size(), "one delay per handled event: " + delays);
        assertTrue(delays.get(0).toMillis() >= 60_000, "the old record's delay: " + delays.get(0));
        assertTrue(delays.get(1).toMillis() < 30_000, "the fresh record's delay: " + delays.get(1));
    }

    @Test
    void aMalformedEventIsDeadLetteredWithItsReasonAndTheNextIsDelivered() throws Exception {
        start("g-" + UUID.randomUUID(), recording());
        produce("k", "{not json");
        produce("k", event("e-unroutable", "mystery.happened", "", "{}"));
        produce("k", event("e-good", "invoice.paid", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals("e-good", published.getFirst().event().id());
        List<ConsumerRecord<String, String>> dlq = readAll(topicDlq, 2);
        assertEquals("{not json", dlq.get(0).value());
        assertTrue(reason(dlq.get(0)).contains("malformed JSON"), reason(dlq.get(0)));
        assertTrue(reason(dlq.get(1)).contains("unroutable"), reason(dlq.get(1)));
        assertEquals(topicIn, new String(dlq.get(0).headers().lastHeader("tandem-dlq-topic").value(), StandardCharsets.UTF_8));
    }

    @Test
    void aRejectedEventIsDeadLetteredNotRetried() throws Exception {
        start("g-" + UUID.randomUUID(), (tenant, channels, e) -> {
            if (e.id().equals("bad-channel")) {
                throw new ProtocolException(ErrorCode.UNKNOWN_CHANNEL, "unknown namespace 'mars'");
            }
            published.add(new Published(tenant, channels, e));
        });
        produce("k", event("bad-channel", "x.y", ",\"channels\":\"mars:1\"", "{}"));
        produce("k", event("after", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals("after", published.getFirst().event().id());
        assertTrue(reason(readAll(topicDlq, 1).getFirst()).contains("mars"));
    }

    @Test
    void anInvalidTenantIdOrAnInvalidValueIsDeadLetteredAndThePartitionMovesOn() throws Exception {
        start("g-" + UUID.randomUUID(), (tenant, channels, e) -> {
            if (e.id().equals("bad-value")) {
                throw new IllegalArgumentException("invalid document type");
            }
            published.add(new Published(tenant, channels, e));
        });
        for (String tenant : List.of("", "a:b", "*", "a/b")) {
            produce("k", event("t-" + tenant, "x.y", ",\"channels\":\"tenant\"", "{}")
                    .replace("\"tenantid\":\"acme\"", "\"tenantid\":\"" + tenant + "\""));
        }
        produce("k", event("bad-value", "x.y", ",\"channels\":\"tenant\"", "{}"));
        produce("k", event("after", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals(List.of("after"), published.stream().map(p -> p.event().id()).toList());
        List<ConsumerRecord<String, String>> dlq = readAll(topicDlq, 5);
        for (int i = 0; i < 4; i++) {
            assertTrue(reason(dlq.get(i)).contains("tenant"), reason(dlq.get(i)));
        }
        assertTrue(reason(dlq.get(4)).contains("invalid document type"), reason(dlq.get(4)));
    }

    @Test
    void anEventNamingTooManyChannelsIsDeadLettered() throws Exception {
        start("g-" + UUID.randomUUID(), recording());
        String many = String.join(",", java.util.stream.IntStream.range(0, Channels.MAX_CHANNELS_PER_PUBLICATION + 1)
                .mapToObj(i -> "location:l" + i).toList());
        produce("k", event("too-many", "x.y", ",\"channels\":\"" + many + "\"", "{}"));
        produce("k", event("after", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals("after", published.getFirst().event().id());
        assertTrue(reason(readAll(topicDlq, 1).getFirst()).contains("at most"));
    }

    @Test
    void anUnavailableBackingPartIsRetriedNotDeadLettered() throws Exception {
        AtomicInteger failures = new AtomicInteger(2);
        start("g-" + UUID.randomUUID(), (tenant, channels, e) -> {
            if (failures.getAndDecrement() > 0) {
                throw new ProtocolException(ErrorCode.UNAVAILABLE, "database down");
            }
            published.add(new Published(tenant, channels, e));
        });
        produce("k", event("e1", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals("e1", published.getFirst().event().id());
    }

    @Test
    void aTransientFailureIsRetriedFromTheSameEventSoNothingIsSkipped() throws Exception {
        AtomicInteger failures = new AtomicInteger(3);
        start("g-" + UUID.randomUUID(), (tenant, channels, e) -> {
            if (e.id().equals("e1") && failures.getAndDecrement() > 0) {
                throw new IllegalStateException("redis down");
            }
            published.add(new Published(tenant, channels, e));
        });
        produce("k", event("e1", "x.y", ",\"channels\":\"tenant\"", "{}"));
        produce("k", event("e2", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(2);
        assertEquals(List.of("e1", "e2"), published.stream().map(p -> p.event().id()).toList());
    }

    @Test
    void committedEventsAreNotHandledAgainAfterARestart() throws Exception {
        String group = "g-" + UUID.randomUUID();
        start(group, recording());
        produce("k", event("first", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        ingest.close();
        ingest = null;
        published.clear();
        produce("k", event("second", "x.y", ",\"channels\":\"tenant\"", "{}"));
        start(group, recording());
        awaitPublished(1);
        Thread.sleep(300);
        assertEquals(List.of("second"), published.stream().map(p -> p.event().id()).toList());
    }

    @Test
    void reportsNotConnectedWhileNoBrokerAnswers() throws Exception {
        KafkaSettings unreachable = KafkaSettings.create(Config.just(ConfigSources.create(Map.of(
                "bootstrap-servers", "127.0.0.1:1",
                "topic-in", topicIn,
                "properties.request.timeout.ms", "1000",
                "properties.default.api.timeout.ms", "1000")))).orElseThrow();
        ingest = KafkaIngest.start(unreachable, (tenant, channels, e) -> { }, new CloudEventCodec(dev.tandem.protocol.FrameCodec.create()));
        Thread.sleep(4000);
        assertTrue(!ingest.connected(), "no broker: not ready");
        ingest.close();
        start("g-" + UUID.randomUUID(), (tenant, channels, e) -> { });
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!ingest.connected() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(ingest.connected(), "a reachable broker: ready");
    }

    /**
     * The ingest, not yet running, finds on partition 0: five good events, a malformed 600 KB one
     * whose dead letter the broker refuses (the dead-letter topic takes at most 2,000 bytes), five
     * more good ones; and six good events on each of partitions 1 and 2. Nothing after the bad event
     * may be skipped: its partition stops there (nothing committed past it) while the others go on,
     * and once the dead-letter topic takes the copy, the rest follows in order.
     */
    @Test
    void aDeadLetterTheBrokerRefusesStopsItsPartitionAndSkipsNothing() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topicIn, 3, (short) 1),
                    new NewTopic(topicDlq, 1, (short) 1).configs(Map.of("max.message.bytes", "2000")))).all().get();
            for (int i = 0; i < 5; i++) {
                producePartition(0, event("p0-" + i, "x.y", ",\"channels\":\"tenant\"", "{}"));
            }
            producePartition(0, "{\"not\": json " + randomLetters(600 * 1024));
            for (int i = 5; i < 10; i++) {
                producePartition(0, event("p0-" + i, "x.y", ",\"channels\":\"tenant\"", "{}"));
            }
            for (int p = 1; p <= 2; p++) {
                for (int i = 0; i < 6; i++) {
                    producePartition(p, event("p" + p + "-" + i, "x.y", ",\"channels\":\"tenant\"", "{}"));
                }
            }
            String group = "g-" + UUID.randomUUID();
            start(group, recording());
            awaitPublished(17);
            Thread.sleep(1500); // a few retries of the refused dead letter
            assertEquals(17, published.size(), "nothing past the refused dead letter: " + ids());
            assertEquals(List.of("p0-0", "p0-1", "p0-2", "p0-3", "p0-4"), ids("p0-"));
            assertEquals(6, ids("p1-").size(), "the other partitions go on");
            assertEquals(6, ids("p2-").size(), "the other partitions go on");
            long committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .get(new TopicPartition(topicIn, 0)).offset();
            assertEquals(5, committed, "committed up to the event that waits for its dead letter");

            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topicDlq),
                    List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", String.valueOf(4 * 1024 * 1024)),
                            AlterConfigOp.OpType.SET)))).all().get();
            awaitPublished(22);
            List<String> p0 = ids("p0-");
            assertEquals(java.util.stream.IntStream.range(0, 10).mapToObj(i -> "p0-" + i).toList(), p0,
                    "every good event of the partition, in order, once");
            ConsumerRecord<String, String> dead = readAll(topicDlq, 1).getFirst();
            assertTrue(dead.value().startsWith("{\"not\": json"), "the record as it came");
            assertEquals(600 * 1024 + 13, dead.value().length());
            assertTrue(reason(dead).contains("malformed JSON"), reason(dead));
        }
    }

    @Test
    void aDeadLetterKeepsTheRecordsOwnHeadersAndABoundedReason() throws Exception {
        start("g-" + UUID.randomUUID(), recording());
        ProducerRecord<String, String> bad = new ProducerRecord<>(topicIn, "k",
                event("forged", "x.y", ",\"time\":\"x\\r\\nSEVERE: forged line " + "y".repeat(100_000) + "\"", "{}"));
        bad.headers().add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".getBytes(StandardCharsets.UTF_8));
        bad.headers().add("ce_id", "binary-1".getBytes(StandardCharsets.UTF_8));
        producer.send(bad).get();
        produce("k", event("after", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        ConsumerRecord<String, String> dead = readAll(topicDlq, 1).getFirst();
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                new String(dead.headers().lastHeader("traceparent").value(), StandardCharsets.UTF_8));
        assertEquals("binary-1", new String(dead.headers().lastHeader("ce_id").value(), StandardCharsets.UTF_8));
        String why = reason(dead);
        assertTrue(why.length() <= 210, why.length() + " characters");
        assertTrue(why.contains("RFC 3339") && why.contains("\\u000d\\u000aSEVERE"), why);
        assertEquals(1, why.lines().count(), why);
    }

    @Test
    void anEventNearTheBrokersSizeLimitIsDeadLetteredWhole() throws Exception {
        start("g-" + UUID.randomUUID(), recording());
        String huge = event("huge", "x.y", "", "\"" + randomLetters(1_048_400 - 120) + "\"");
        try (KafkaProducer<String, String> big = KafkaTopics.producer("max.request.size", String.valueOf(2 * 1024 * 1024))) {
            big.send(new ProducerRecord<>(topicIn, "k", huge)).get();
        }
        produce("k", event("after", "x.y", ",\"channels\":\"tenant\"", "{}"));
        awaitPublished(1);
        assertEquals("after", published.getFirst().event().id());
        ConsumerRecord<String, String> dead = readAll(topicDlq, 1).getFirst();
        assertEquals(huge, dead.value());
        assertTrue(reason(dead).contains("unroutable"), reason(dead));
    }

    private void producePartition(int partition, String value) throws Exception {
        producer.send(new ProducerRecord<>(topicIn, partition, "k" + partition, value)).get();
    }

    private List<String> ids() {
        synchronized (published) {
            return published.stream().map(p -> p.event().id()).toList();
        }
    }

    private List<String> ids(String prefix) {
        return ids().stream().filter(id -> id.startsWith(prefix)).toList();
    }

    private static String randomLetters(int n) {
        java.util.Random random = new java.util.Random(42);
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append((char) ('a' + random.nextInt(26)));
        }
        return sb.toString();
    }

    private List<ConsumerRecord<String, String>> readAll(String topic, int n) {
        List<ConsumerRecord<String, String>> out = new ArrayList<>(
                KafkaTopics.read(topic, n, Duration.ofSeconds(30), r -> true));
        out.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        assertEquals(n, out.size(), "dead letters");
        return out;
    }

    private static String reason(ConsumerRecord<String, String> r) {
        return new String(r.headers().lastHeader(KafkaIngest.DLQ_REASON).value(), StandardCharsets.UTF_8);
    }

}
