package dev.tandem.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.tandem.channel.ChannelName;
import dev.tandem.events.CloudEvent;
import dev.tandem.events.CloudEventCodec;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;

/**
 * Consumes domain events (CloudEvents, structured JSON) from the inbound topic and hands each
 * to an {@link EventSink}, which appends it to its channels' history and fans it out.
 *
 * <p>Guarantees: the consumer group makes each event handled by one node of the cluster; an
 * offset is committed only after its event was handled or dead-lettered (at-least-once); a
 * redelivery after a rebalance or restart carries the same event id, which the broker publishes
 * once per channel, so it does not reach clients twice. A malformed or unroutable event goes to the
 * dead-letter topic (with its own headers, and the reason in the {@code tandem-dlq-reason}
 * header) and the partition moves on once the broker has the copy; when the copy cannot be
 * written, or the event fails for a transient reason (a backing service down), the partition
 * stops at that event and tries it again after {@code retry-backoff} (doubling while it keeps
 * failing), so nothing is ever skipped; the other partitions go on meanwhile. Events of one key
 * (tenant + subject) stay in order because they share a partition and one partition is read
 * by one thread.
 *
 * <p>The consumer runs on its own thread ({@code KafkaConsumer} is not thread-safe).
 */
public final class KafkaIngest implements AutoCloseable {
    /** Header on dead-lettered records naming why. */
    public static final String DLQ_REASON = "tandem-dlq-reason";
    /** Headers on dead-lettered records naming where the event was read. */
    static final String DLQ_TOPIC = "tandem-dlq-topic";
    static final String DLQ_PARTITION = "tandem-dlq-partition";
    static final String DLQ_OFFSET = "tandem-dlq-offset";
    private static final System.Logger LOG = System.getLogger(KafkaIngest.class.getName());
    private static final Duration CHECK_INTERVAL = Duration.ofSeconds(5);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    /** The longest pause before a failing record is tried again, as a multiple of {@code retry-backoff}. */
    private static final int MAX_BACKOFF_FACTOR = 32;

    /** Where handled events go; throws {@link ProtocolException} for permanent problems. */
    @FunctionalInterface
    public interface EventSink {
        /**
         * Takes an event of {@code tenant} with the channels it names or its routes give it (names
         * as clients write them, possibly none); the sink judges them (how many, which) as it
         * judges every publication.
         *
         * @throws ProtocolException for a problem with the event itself (dead-lettered), or with
         *                           code {@code unavailable} for a transient failure (retried);
         *                           {@link IllegalArgumentException} also marks a problem with the
         *                           event; any other exception is taken as transient and retried
         */
        void publish(String tenant, List<String> channels, CloudEvent event);
    }

    /**
     * Told, for each event handed to the sink, how long after the record's Kafka timestamp the
     * sink took it: the producer's clock ({@code CreateTime}) or the broker's
     * ({@code LogAppendTime}) against this node's, so clock skew shows in it; never negative.
     */
    @FunctionalInterface
    public interface DelayObserver {
        /** An event was handed to the sink {@code delay} after its record's timestamp. */
        void handled(Duration delay);
    }

    private final KafkaSettings settings;
    private final EventSink sink;
    private final DelayObserver delays;
    private final CloudEventCodec codec;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> deadLetters;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong lag = new AtomicLong();
    private final AtomicLong handled = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final Thread thread;
    private volatile boolean connected;
    /** Partitions stopped at a record, and when to try it again ({@link System#nanoTime}); poll thread only. */
    private final Map<TopicPartition, Long> pausedUntil = new HashMap<>();
    /** Failed attempts in a row per partition, at the record it stopped at; poll thread only. */
    private final Map<TopicPartition, Failures> failures = new HashMap<>();
    private long lastCheckNanos = System.nanoTime() - CHECK_INTERVAL.toNanos();

    private KafkaIngest(KafkaSettings settings, EventSink sink, CloudEventCodec codec, DelayObserver delays) {
        this.settings = settings;
        this.sink = sink;
        this.delays = delays;
        this.codec = codec;
        Properties c = new Properties();
        c.putAll(settings.properties());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "500");
        // for latency: the broker answers a fetch as soon as one byte is there, and an idle fetch
        // comes back after 100 ms rather than 500 (the poll loop then looks at paused
        // partitions and readiness sooner); tandem.kafka.properties may say otherwise
        c.putIfAbsent(ConsumerConfig.FETCH_MIN_BYTES_CONFIG, "1");
        c.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        this.consumer = new KafkaConsumer<>(c);
        Properties p = new Properties();
        p.putAll(settings.properties());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        // a dead letter is the event as it came plus a few headers: an event near the broker's size
        // limit must still fit (compressed; the client's own request limit is not the broker's),
        // and a broker that does not answer must not hold the poll loop for minutes
        p.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "gzip");
        p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(16 * 1024 * 1024));
        p.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        p.putIfAbsent(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.putIfAbsent(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        this.deadLetters = new KafkaProducer<>(p);
        this.thread = new Thread(this::run, "tandem-kafka-ingest");
        this.thread.setDaemon(true);
    }

    /** Starts consuming {@code settings.topicIn()} into {@code sink}. */
    public static KafkaIngest start(KafkaSettings settings, EventSink sink, CloudEventCodec codec) {
        return start(settings, sink, codec, delay -> { });
    }

    /**
     * Starts consuming {@code settings.topicIn()} into {@code sink}, telling {@code delays} how
     * old each event was when the sink took it.
     */
    public static KafkaIngest start(KafkaSettings settings, EventSink sink, CloudEventCodec codec,
                                    DelayObserver delays) {
        KafkaIngest ingest = new KafkaIngest(settings, sink, codec, delays);
        ingest.consumer.subscribe(List.of(settings.topicIn()));
        ingest.thread.start();
        return ingest;
    }

    /** Records still to be read on the assigned partitions, as of the last poll. */
    public long lag() {
        return lag.get();
    }

    /** Events handed to the sink since start. */
    public long handled() {
        return handled.get();
    }

    /** Events sent to the dead-letter topic since start. */
    public long deadLettered() {
        return deadLettered.get();
    }

    /** Whether the cluster answered the last metadata check, at most a few seconds ago (readiness). */
    public boolean connected() {
        return connected && thread.isAlive();
    }

    private void run() {
        try {
            while (running.get()) {
                try {
                    pollOnce();
                } catch (WakeupException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // a broker outage, a failed commit after a rebalance…: pollOnce has set every
                    // partition back to its first unhandled record; the loop must outlive it.
                    // Readiness asks the broker again at once rather than guessing from this.
                    lastCheckNanos = System.nanoTime() - CHECK_INTERVAL.toNanos();
                    LOG.log(System.Logger.Level.WARNING, "Kafka ingest: " + LogText.safe(String.valueOf(e))
                            + "; polling again in " + settings.retryBackoff());
                    try {
                        Thread.sleep(settings.retryBackoff().toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        running.set(false);
                    }
                }
            }
        } catch (WakeupException e) {
            if (running.get()) {
                LOG.log(System.Logger.Level.ERROR, "Kafka ingest woken up unexpectedly", e);
            }
        } finally {
            connected = false;
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * One poll: each partition's records in order. Afterwards every partition of the poll is set
     * back to its first record that was not handled, whatever happened (a record to try again, a
     * dead letter that could not be written, an unexpected failure): the consumer's position has
     * already moved past everything the poll returned, and polling on from there would skip
     * those records. A partition that stopped at a record is paused until its backoff has passed;
     * the other partitions go on meanwhile.
     */
    private void pollOnce() {
        resumeDue();
        ConsumerRecords<byte[], byte[]> records = consumer.poll(pollTimeout());
        checkConnection();
        Map<TopicPartition, Long> unhandled = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            unhandled.put(tp, records.records(tp).getFirst().offset());
        }
        Map<TopicPartition, OffsetAndMetadata> handled = new HashMap<>();
        try {
            for (TopicPartition tp : records.partitions()) {
                handlePartition(tp, records.records(tp), unhandled, handled);
            }
        } finally {
            commit(handled);
            Set<TopicPartition> assigned = consumer.assignment();
            unhandled.forEach((tp, offset) -> {
                if (assigned.contains(tp)) {
                    consumer.seek(tp, offset);
                }
            });
        }
        updateLag();
    }

    /**
     * Commits what a poll handled, every partition in one request (one round trip to the broker
     * per poll, not per partition).
     */
    private void commit(Map<TopicPartition, OffsetAndMetadata> handled) {
        if (handled.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(handled);
        } catch (org.apache.kafka.common.KafkaException e) {
            // not committed: these events come again (to this node or the partition's new
            // owner) and are handled again; at-least-once
            LOG.log(System.Logger.Level.WARNING, "commit of " + handled + " failed: " + e);
        }
    }

    /**
     * Handles one partition's records in order and notes in {@code handled} the offset to commit,
     * taking each handled record out of {@code unhandled} (partition to the offset of its first
     * unhandled record); at a record that must be tried again it stops and pauses the partition.
     */
    private void handlePartition(TopicPartition tp, List<ConsumerRecord<byte[], byte[]>> records,
                                 Map<TopicPartition, Long> unhandled, Map<TopicPartition, OffsetAndMetadata> handled) {
        long next = -1;
        try {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                Optional<Throwable> failed = handleOrDeadLetter(record);
                if (failed.isPresent()) {
                    stop(tp, record, failed.get());
                    return;
                }
                next = record.offset() + 1;
                unhandled.put(tp, next);
            }
            unhandled.remove(tp);
        } finally {
            if (next >= 0) {
                failures.remove(tp);
                handled.put(tp, new OffsetAndMetadata(next));
            }
        }
    }

    /**
     * Handles a record, or dead-letters it when the event itself is at fault; the failure when it
     * must be tried again from the same offset (a transient failure, or a dead letter that could
     * not be written: an event is never passed over before its copy is durable).
     */
    private Optional<Throwable> handleOrDeadLetter(ConsumerRecord<byte[], byte[]> record) {
        String reason;
        try {
            handle(record);
            return Optional.empty();
        } catch (ProtocolException e) {
            if (e.code().isTransient()) {
                return Optional.of(e);
            }
            reason = e.getMessage();
        } catch (IllegalArgumentException e) {
            // a value of the event itself is invalid: retrying would stall the partition
            reason = "invalid event: " + e.getMessage();
        } catch (RuntimeException e) {
            return Optional.of(e);
        }
        try {
            deadLetter(record, reason);
            return Optional.empty();
        } catch (RuntimeException e) {
            return Optional.of(new IllegalStateException("its dead letter could not be written to "
                    + settings.topicDeadLetter() + ": " + e.getMessage(), e));
        }
    }

    /**
     * Pauses a partition at a record that failed, for {@code retry-backoff}, doubled for each
     * failure of that record in a row up to {@value #MAX_BACKOFF_FACTOR} times it (a partition
     * stuck on a refused dead letter neither spins nor logs every second for hours).
     */
    private void stop(TopicPartition tp, ConsumerRecord<byte[], byte[]> record, Throwable cause) {
        Failures previous = failures.get(tp);
        int attempt = previous != null && previous.offset() == record.offset() ? previous.count() + 1 : 1;
        long factor = Math.min(1L << Math.min(attempt - 1, 30), MAX_BACKOFF_FACTOR);
        Duration backoff = settings.retryBackoff().multipliedBy(factor);
        failures.put(tp, new Failures(record.offset(), attempt));
        pausedUntil.put(tp, System.nanoTime() + backoff.toNanos());
        consumer.pause(List.of(tp));
        LOG.log(System.Logger.Level.WARNING, "event at " + tp + "@" + record.offset() + " not handled (attempt "
                + attempt + "), trying again in " + backoff.toMillis() + " ms: " + LogText.safe(String.valueOf(cause)));
    }

    /** Resumes the paused partitions whose backoff has passed (and forgets those no longer assigned). */
    private void resumeDue() {
        if (pausedUntil.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        Set<TopicPartition> assigned = consumer.assignment();
        List<TopicPartition> due = new ArrayList<>();
        pausedUntil.entrySet().removeIf(e -> {
            if (!assigned.contains(e.getKey())) {
                failures.remove(e.getKey());
                return true;
            }
            if (now - e.getValue() >= 0) {
                due.add(e.getKey());
                return true;
            }
            return false;
        });
        consumer.resume(due);
    }

    /** How long a poll may wait: no longer than until the next paused partition is due. */
    private Duration pollTimeout() {
        long wait = POLL_TIMEOUT.toNanos();
        long now = System.nanoTime();
        for (long until : pausedUntil.values()) {
            wait = Math.min(wait, Math.max(until - now, 1_000_000));
        }
        return Duration.ofNanos(wait);
    }

    /** Failed attempts in a row at the record a partition stopped at. */
    private record Failures(long offset, int count) {
    }

    private void handle(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "empty record (tombstone)");
        }
        CloudEvent event = codec.decode(record.value());
        String tenant = event.tenantId().orElseThrow(() -> new ProtocolException(
                ErrorCode.BAD_REQUEST, "missing tenantid extension"));
        if (!ChannelName.isValidId(tenant)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST,
                    "tenantid is not a valid tenant id (1-128 of A-Z a-z 0-9 _ . @ ~ -)");
        }
        List<String> channels = event.channels();
        if (channels.isEmpty()) {
            channels = settings.routesFor(event.type()).stream().flatMap(r -> r.channels(event).stream()).toList();
        }
        long taken = System.currentTimeMillis();
        sink.publish(tenant, channels, event);
        handled.incrementAndGet();
        if (record.timestamp() >= 0) {
            delays.handled(Duration.ofMillis(Math.max(0, taken - record.timestamp())));
        }
    }

    /**
     * Writes the record to the dead-letter topic as it came (key, value and its own headers, so
     * it can be inspected and replayed: {@code traceparent}, correlation ids, a binary-mode
     * event's {@code ce_*} attributes), plus where it came from and why, and waits until the
     * broker has it.
     *
     * @throws RuntimeException when the copy could not be written
     */
    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        String why = LogText.safe(reason);
        ProducerRecord<byte[], byte[]> dlq = new ProducerRecord<>(settings.topicDeadLetter(), null, record.key(),
                record.value(), record.headers());
        // a record that was dead-lettered before (replayed from the dead-letter topic) gets new ones
        for (String h : List.of(DLQ_REASON, DLQ_TOPIC, DLQ_PARTITION, DLQ_OFFSET)) {
            dlq.headers().remove(h);
        }
        dlq.headers().add(DLQ_REASON, why.getBytes(StandardCharsets.UTF_8));
        dlq.headers().add(DLQ_TOPIC, record.topic().getBytes(StandardCharsets.UTF_8));
        dlq.headers().add(DLQ_PARTITION, String.valueOf(record.partition()).getBytes(StandardCharsets.UTF_8));
        dlq.headers().add(DLQ_OFFSET, String.valueOf(record.offset()).getBytes(StandardCharsets.UTF_8));
        try {
            // wait: the original's offset is committed right after, so the copy must be durable first
            deadLetters.send(dlq).get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(String.valueOf(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        deadLettered.incrementAndGet();
        LOG.log(System.Logger.Level.INFO, "dead-lettered " + record.topic() + "-" + record.partition() + "@"
                + record.offset() + ": " + why);
    }

    /**
     * {@code poll} returns empty rather than failing while no broker is reachable, so readiness
     * asks for the topic's metadata every few seconds instead.
     */
    private void checkConnection() {
        long now = System.nanoTime();
        if (now - lastCheckNanos < CHECK_INTERVAL.toNanos()) {
            return;
        }
        lastCheckNanos = now;
        try {
            consumer.partitionsFor(settings.topicIn(), Duration.ofSeconds(2));
            connected = true;
        } catch (org.apache.kafka.common.errors.WakeupException e) {
            throw e;
        } catch (org.apache.kafka.common.KafkaException e) {
            if (connected) {
                LOG.log(System.Logger.Level.WARNING, "Kafka unreachable at " + settings.bootstrapServers() + ": " + e);
            }
            connected = false;
        }
    }

    private void updateLag() {
        long total = 0;
        for (TopicPartition tp : consumer.assignment()) {
            OptionalLong l = consumer.currentLag(tp);
            total += l.orElse(0);
        }
        lag.set(total);
    }

    /** Stops consuming and closes the clients. */
    @Override
    public void close() {
        running.set(false);
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deadLetters.close(Duration.ofSeconds(5));
    }
}
