package dev.tandem.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import dev.tandem.document.Outbox;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Relays the outbox to the outbound topic ({@code tandem.changes.out}): every accepted client
 * change and conflict resolution, as the CloudEvent written with it, keyed by tenant + document.
 *
 * <p>Guarantees: nothing is lost while Kafka is down (rows wait in the database); nothing is
 * published for a rolled-back change (the row rolled back with it); a row is marked only after
 * Kafka acknowledged it (idempotent producer, {@code acks=all}), so a crash between the two
 * publishes it again: consumers de-duplicate by the event {@code id}. Every node runs a relay;
 * a lease in the database lets one relay at a time (a relay re-checks it before marking rows,
 * stops a batch at the first record Kafka refuses, and hands the lease over when it stops);
 * another takes over within the lease TTL when it dies, so one document's changes keep their
 * order (a takeover may resend rows the old holder sent but did not mark).
 */
public final class OutboxRelay implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(OutboxRelay.class.getName());
    private static final Duration LEASE = Duration.ofSeconds(15);
    private static final int BATCH = 200;

    private final Outbox outbox;
    private final String topic;
    private final String holder;
    private final KafkaProducer<String, byte[]> producer;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong relayed = new AtomicLong();
    private final AtomicLong backlog = new AtomicLong();
    private final Thread thread;
    private volatile boolean leader;

    private OutboxRelay(KafkaSettings settings, Outbox outbox, String holder) {
        this.outbox = outbox;
        this.topic = settings.topicOut();
        this.holder = holder;
        Properties p = new Properties();
        p.putAll(settings.properties());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "10000");
        p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
        p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        this.producer = new KafkaProducer<>(p);
        this.thread = new Thread(this::run, "tandem-outbox-relay");
        this.thread.setDaemon(true);
    }

    /** Starts relaying; {@code holder} names this node in the lease. */
    public static OutboxRelay start(KafkaSettings settings, Outbox outbox, String holder) {
        OutboxRelay relay = new OutboxRelay(settings, outbox, holder);
        relay.thread.start();
        return relay;
    }

    /** Rows relayed by this node since start. */
    public long relayed() {
        return relayed.get();
    }

    /** Rows waiting, as of the last look. */
    public long backlog() {
        return backlog.get();
    }

    /** Whether this node holds the relay lease. */
    public boolean leader() {
        return leader;
    }

    private void run() {
        long pause = 200;
        while (running.get()) {
            try {
                leader = outbox.acquireLease(holder, LEASE);
                backlog.set(outbox.backlog());
                if (leader) {
                    int n = relayOnce();
                    pause = n == BATCH ? 0 : 200;
                } else {
                    pause = 1000;
                }
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "outbox relay: " + e.getMessage() + "; retrying");
                pause = Math.min(5000, Math.max(500, pause * 2));
            }
            sleep(pause);
        }
    }

    /** Sends one batch and marks it once Kafka acknowledged every record. */
    private int relayOnce() {
        List<Outbox.Entry> batch = outbox.unpublished(BATCH);
        if (batch.isEmpty()) {
            return 0;
        }
        List<Future<RecordMetadata>> sent = new ArrayList<>(batch.size());
        for (Outbox.Entry e : batch) {
            try {
                sent.add(producer.send(new ProducerRecord<>(topic, e.key(), e.value())));
            } catch (org.apache.kafka.common.KafkaException ex) {
                // Kafka unreachable (send blocks up to max.block.ms): stop here, well inside the lease
                LOG.log(System.Logger.Level.WARNING, "outbox relay: Kafka does not take records: " + ex.getMessage());
                break;
            }
        }
        producer.flush();
        List<Long> done = new ArrayList<>(batch.size());
        for (int i = 0; i < sent.size(); i++) {
            try {
                sent.get(i).get();
                done.add(batch.get(i).id());
            } catch (Exception ex) {
                // stop at the first failure: later rows of the same document must not overtake it
                LOG.log(System.Logger.Level.WARNING, "outbox relay: sending row " + batch.get(i).id() + " failed: " + ex);
                break;
            }
        }
        if (!done.isEmpty()) {
            if (!outbox.acquireLease(holder, LEASE)) {
                // another node took over while we sent: it sends these again (consumers dedupe by id)
                LOG.log(System.Logger.Level.WARNING, "outbox relay: lost the lease while sending");
                return 0;
            }
            outbox.markPublished(done);
            relayed.addAndGet(done.size());
        }
        if (done.size() < batch.size()) {
            throw new IllegalStateException("Kafka did not take every record");
        }
        return batch.size();
    }

    private void sleep(long ms) {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running.set(false);
        }
    }

    /** Stops relaying (the lease runs out by itself, and another node takes over). */
    @Override
    public void close() {
        running.set(false);
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (leader) {
            try {
                // hand over now rather than after the lease runs out
                outbox.acquireLease(holder, Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "outbox relay: releasing the lease failed: " + e.getMessage());
            }
        }
        producer.close(Duration.ofSeconds(5));
    }
}
