package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Reads the outbound topic ({@code tandem.changes.out}) and judges it against the accepted changes. */
final class OutTopic {
    private static final ObjectMapper JSON = new ObjectMapper();

    private OutTopic() {
    }

    /**
     * Waits until every accepted change (document id → versions) of {@code tenant} is on
     * {@code topic}, then checks that each document's changes arrived in version order (a
     * relay's re-send after a take-over may repeat changes; their first arrivals are in order).
     */
    static void awaitInOrder(String topic, String tenant, Map<String, List<Long>> accepted, Duration timeout) {
        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestServices.kafka());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        Map<String, List<Long>> seen = new HashMap<>();
        Set<String> missing = new HashSet<>();
        accepted.forEach((doc, versions) -> versions.forEach(v -> missing.add(doc + "@" + v)));
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!missing.isEmpty()) {
                if (System.nanoTime() > deadline) {
                    fail(missing.size() + " accepted changes never reached " + topic + " within " + timeout + ", e.g. "
                            + missing.stream().limit(5).toList());
                }
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    JsonNode e;
                    try {
                        e = JSON.readTree(r.value());
                    } catch (Exception ex) {
                        throw new AssertionError("not JSON on " + topic + ": " + r.value(), ex);
                    }
                    if (!tenant.equals(e.path("tenantid").asText())) {
                        continue;
                    }
                    String doc = e.path("data").path("docId").asText();
                    long version = e.path("data").path("version").asLong();
                    assertEquals(tenant + "/note/" + doc, r.key(), "keyed by tenant/type/id");
                    seen.computeIfAbsent(doc, k -> new ArrayList<>()).add(version);
                    missing.remove(doc + "@" + version);
                }
            }
        }
        seen.forEach((doc, versions) -> {
            List<Long> first = new ArrayList<>(new LinkedHashSet<>(versions));
            for (int i = 1; i < first.size(); i++) {
                assertTrue(first.get(i) > first.get(i - 1), doc + ": changes out of order on " + topic + ": " + versions);
            }
        });
    }
}
