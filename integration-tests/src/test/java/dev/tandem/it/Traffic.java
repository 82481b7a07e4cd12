package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.Tokens;
import dev.tandem.testing.KafkaTopics;

/**
 * Backend traffic that keeps flowing through a fault and remembers what was acknowledged:
 * REST publications (with an event id, retried on the next node until answered), Kafka
 * publications (acknowledged by the broker), inbox sends and document changes through
 * {@code POST /api/v1/sync}. Each source runs on its own virtual thread at a fixed pace.
 */
final class Traffic implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An acknowledged durable publication. */
    record Ack(String channel, String eventId, String epoch, long offset) {
    }

    /** An accepted document change. */
    record Change(String docId, long version, String opId) {
    }

    private final String tenant;
    private final String service;
    private final Supplier<List<GatewayProcess>> nodes;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;
    final List<Ack> published = new CopyOnWriteArrayList<>();
    final List<String> producedToKafka = new CopyOnWriteArrayList<>();
    final List<Ack> inbox = new CopyOnWriteArrayList<>();
    final List<Change> changes = new CopyOnWriteArrayList<>();
    final AtomicInteger unavailableAnswers = new AtomicInteger();
    final AtomicInteger failedAttempts = new AtomicInteger();
    final Map<String, String> errors = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();

    Traffic(String tenant, Supplier<List<GatewayProcess>> nodes) {
        this.tenant = tenant;
        this.service = Tokens.service(tenant);
        this.nodes = nodes;
    }

    /** REST publications to {@code channel}, {@code perSecond}. */
    Traffic rest(String channel, int perSecond) {
        return rest(List.of(channel), perSecond);
    }

    /** REST publications to {@code channels}, round robin, {@code perSecond} in all. */
    Traffic rest(List<String> channels, int perSecond) {
        return every(perSecond, "rest", n -> {
            String channel = channels.get((int) (n % channels.size()));
            String id = "rest-" + channel + "-" + n;
            JsonNode r = postUntilAnswered("/api/v1/publish", "{\"channel\":\"" + channel + "\",\"type\":\"n\",\"eventId\":\""
                    + id + "\",\"data\":{\"n\":" + n + "}}");
            if (r != null && r.has("publications")) {
                JsonNode p = r.path("publications").get(0);
                published.add(new Ack(channel, id, p.path("epoch").asText(), p.path("offset").asLong()));
            }
        });
    }

    /** Inbox sends to {@code users}, round robin, {@code perSecond}. */
    Traffic inbox(List<String> users, int perSecond) {
        return every(perSecond, "inbox", n -> {
            String user = users.get((int) (n % users.size()));
            String id = "inbox-" + n;
            JsonNode r = postUntilAnswered("/api/v1/users/" + user + "/send",
                    "{\"type\":\"note\",\"eventId\":\"" + id + "\",\"data\":{\"n\":" + n + "}}");
            if (r != null) {
                JsonNode p = r.has("publications") ? r.path("publications").get(0) : r;
                inbox.add(new Ack("user:" + user, p.path("eventId").asText(id), p.path("epoch").asText(),
                        p.path("offset").asLong()));
            }
        });
    }

    /** CloudEvents to the run's inbound topic naming {@code channel}, {@code perSecond}. */
    Traffic kafka(String topic, String channel, int perSecond) {
        KafkaProducer<String, String> producer = KafkaTopics.producer();
        return every(perSecond, "kafka", n -> {
            String id = "k-" + n;
            try {
                producer.send(new ProducerRecord<>(topic, tenant + "/x", "{\"specversion\":\"1.0\",\"id\":\"" + id
                        + "\",\"source\":\"/erp\",\"type\":\"stock.updated\",\"tenantid\":\"" + tenant
                        + "\",\"channels\":\"" + channel + "\",\"data\":{\"n\":" + n + "}}")).get();
                producedToKafka.add(id);
            } catch (Exception e) {
                errors.put("kafka", String.valueOf(e));
            }
        }, producer::close);
    }

    /**
     * Document changes through {@code POST /api/v1/sync}, {@code perSecond}, cycling over
     * {@code docs} documents of type {@code note}: each sets {@code v} on the version it last
     * saw. An op whose answer was lost is retried with the same opId (answered {@code duplicate}
     * if the first attempt was applied).
     */
    Traffic documents(int docs, int perSecond) {
        long[] versions = new long[docs];
        return every(perSecond, "docs", n -> {
            int k = (int) (n % docs);
            String docId = "d-" + k;
            String opId = "w:" + n;
            String body = versions[k] == 0
                    ? "{\"ops\":[{\"docType\":\"note\",\"docId\":\"" + docId + "\",\"baseVersion\":0,\"opId\":\"" + opId
                    + "\",\"data\":{\"v\":" + n + "}}]}"
                    : "{\"ops\":[{\"docType\":\"note\",\"docId\":\"" + docId + "\",\"baseVersion\":" + versions[k]
                    + ",\"opId\":\"" + opId + "\",\"patch\":{\"set\":{\"v\":" + n + "}}}]}";
            JsonNode r = postUntilAnswered("/api/v1/sync", body);
            if (r == null) {
                return;
            }
            JsonNode result = r.path("results").get(0);
            String kind = result.path("result").asText();
            if (kind.equals("applied") || kind.equals("merged") || kind.equals("duplicate")) {
                versions[k] = result.path("version").asLong();
                changes.add(new Change(docId, versions[k], opId));
            } else if ("unavailable".equals(result.path("code").asText())) {
                unavailableAnswers.incrementAndGet();
            } else {
                errors.put("doc " + opId, result.toString());
            }
        });
    }

    /**
     * Posts until some node answers: a transport failure (node gone) tries the next node; an
     * {@code unavailable} answer is counted and tried again; other errors are recorded.
     * Returns null when traffic stopped before an answer.
     */
    private JsonNode postUntilAnswered(String path, String body) {
        for (int attempt = 0; ; attempt++) {
            if (!running && attempt >= 50) {
                return null;
            }
            List<GatewayProcess> live = nodes.get();
            GatewayProcess node = live.get(attempt % live.size());
            try {
                var res = node.post(path, service, body);
                JsonNode json = JSON.readTree(res.body());
                if (res.statusCode() == 200) {
                    return json;
                }
                if ("unavailable".equals(json.path("code").asText())) {
                    unavailableAnswers.incrementAndGet();
                } else {
                    errors.put(path + " " + res.statusCode(), res.body());
                    return null;
                }
            } catch (Exception e) {
                failedAttempts.incrementAndGet();
            }
            sleep(200);
        }
    }

    private interface Step {
        void run(long n) throws Exception;
    }

    private Traffic every(int perSecond, String name, Step step, Runnable... after) {
        long period = 1000L / perSecond;
        threads.add(Thread.ofVirtual().name("traffic-" + name).start(() -> {
            try {
                long next = System.currentTimeMillis();
                while (running) {
                    long n = seq.incrementAndGet();
                    try {
                        step.run(n);
                    } catch (Exception e) {
                        errors.put(name, String.valueOf(e));
                    }
                    next += period;
                    sleep(Math.max(0, next - System.currentTimeMillis()));
                }
            } finally {
                for (Runnable r : after) {
                    r.run();
                }
            }
        }));
        return this;
    }

    /** Stops every source after its current step (which may still retry to get an answer). */
    void stop() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(Duration.ofSeconds(60));
        }
    }

    List<Ack> published(String channel) {
        return published.stream().filter(a -> a.channel().equals(channel)).toList();
    }

    /** Per document, the accepted versions in acceptance order. */
    Map<String, List<Long>> versionsByDoc() {
        Map<String, List<Long>> m = new ConcurrentHashMap<>();
        for (Change c : changes) {
            m.computeIfAbsent(c.docId(), k -> Collections.synchronizedList(new ArrayList<>())).add(c.version());
        }
        return m;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
