package dev.tandem.kafka;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
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

import dev.tandem.events.CloudEvent;
import dev.tandem.events.CloudEventCodec;
import dev.tandem.protocol.ProtocolException;

/**
 * Consumes domain events (CloudEvents, structured JSON) from the inbound topic and hands each
 * to an {@link EventSink}, which appends it to its channels' history and fans it out.
 *
 * <p>Guarantees: the consumer group makes each event handled by one node of the cluster; an
 * offset is committed only after its event was handled or dead-lettered (at-least-once); a
 * redelivery after a rebalance or restart carries the same event id, which the broker publishes
 * once per channel, so it does not reach clients twice. A malformed or unroutable event goes to the
 * dead-letter topic with the reason in the {@code tandem-dlq-reason} header and the partition
 * moves on; an event that fails for a transient reason (a backing service down) is retried
 * from the same offset after {@code retry-backoff}, so nothing is skipped. Events of one key
 * (tenant + subject) stay in order because they share a partition and one partition is read
 * by one thread.
 *
 * <p>The consumer runs on its own thread ({@code KafkaConsumer} is not thread-safe).
 */
public final class KafkaIngest implements AutoCloseable {
    /**
     * Type prefix of backends' answers to relayed changes ({@code tandem.change.confirmed},
     * {@code tandem.change.rejected}); they need no channels: they go to the change's author.
     */
    public static final String CHANGE_STATUS_PREFIX = "tandem.change.";

    /** Header on dead-lettered records naming why. */
    public static final String DLQ_REASON = "tandem-dlq-reason";
    private static final System.Logger LOG = System.getLogger(KafkaIngest.class.getName());
    private static final Duration CHECK_INTERVAL = Duration.ofSeconds(5);
    /** Channels one event may name (as the REST publish allows). */
    static final int MAX_CHANNELS = 100;

    /** Where handled events go; throws {@link ProtocolException} for permanent problems. */
    @FunctionalInterface
    public interface EventSink {
        /**
         * Publishes an event of {@code tenant} to the channels (names as clients write them).
         *
         * @throws ProtocolException for a problem with the event itself (dead-lettered), or with
         *                           code {@code unavailable} for a transient failure (retried);
         *                           {@link IllegalArgumentException} also marks a problem with the
         *                           event; any other exception is taken as transient and retried
         */
        void publish(String tenant, List<String> channels, CloudEvent event);
    }

    private final KafkaSettings settings;
    private final EventSink sink;
    private final CloudEventCodec codec;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaProducer<byte[], byte[]> deadLetters;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong lag = new AtomicLong();
    private final AtomicLong handled = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final Thread thread;
    private volatile boolean connected;
    private long lastCheckNanos = System.nanoTime() - CHECK_INTERVAL.toNanos();

    private KafkaIngest(KafkaSettings settings, EventSink sink, CloudEventCodec codec) {
        this.settings = settings;
        this.sink = sink;
        this.codec = codec;
        Properties c = new Properties();
        c.putAll(settings.properties());
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
        c.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "500");
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
        this.deadLetters = new KafkaProducer<>(p);
        this.thread = new Thread(this::run, "tandem-kafka-ingest");
        this.thread.setDaemon(true);
    }

    /** Starts consuming {@code settings.topicIn()} into {@code sink}. */
    public static KafkaIngest start(KafkaSettings settings, EventSink sink, CloudEventCodec codec) {
        KafkaIngest ingest = new KafkaIngest(settings, sink, codec);
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
                    // a broker outage, a failed commit after a rebalance…: what was not committed is
                    // read again; the loop must outlive it
                    connected = false;
                    LOG.log(System.Logger.Level.WARNING, "Kafka ingest: " + e + "; retrying in "
                            + settings.retryBackoff());
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

    /** One poll: each partition's records in order; a partition that must retry stops the round. */
    private void pollOnce() {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
        checkConnection();
        boolean retrying = false;
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<byte[], byte[]>> batch = records.records(tp);
            if (retrying) {
                // not handled in this round: read them again after the retry
                consumer.seek(tp, batch.getFirst().offset());
            } else {
                retrying = !handlePartition(tp, batch);
            }
        }
        updateLag();
    }

    /**
     * Handles one partition's records in order and commits what was handled; false when it
     * stopped at a record that must be retried.
     */
    private boolean handlePartition(TopicPartition tp, List<ConsumerRecord<byte[], byte[]>> records) {
        long next = -1;
        try {
            for (ConsumerRecord<byte[], byte[]> record : records) {
                try {
                    handle(record);
                } catch (ProtocolException e) {
                    if (e.code() == dev.tandem.protocol.ErrorCode.UNAVAILABLE) {
                        return retryFrom(tp, record, e);
                    }
                    deadLetter(record, e.getMessage());
                } catch (IllegalArgumentException e) {
                    // a value of the event itself is invalid: retrying would stall the partition
                    deadLetter(record, "invalid event: " + e.getMessage());
                } catch (DeadLetterFailed e) {
                    return retryFrom(tp, record, e.getCause());
                } catch (RuntimeException e) {
                    return retryFrom(tp, record, e);
                }
                next = record.offset() + 1;
            }
            return true;
        } finally {
            if (next >= 0) {
                try {
                    consumer.commitSync(Map.of(tp, new OffsetAndMetadata(next)));
                } catch (org.apache.kafka.common.KafkaException e) {
                    // not committed: these events come again (to this node or the partition's new
                    // owner) and are handled again; at-least-once
                    LOG.log(System.Logger.Level.WARNING, "commit of " + tp + "@" + next + " failed: " + e);
                }
            }
        }
    }

    private boolean retryFrom(TopicPartition tp, ConsumerRecord<byte[], byte[]> record, Throwable cause) {
        LOG.log(System.Logger.Level.WARNING, "event at " + tp + "@" + record.offset()
                + " failed for a transient reason, retrying in " + settings.retryBackoff() + ": " + cause);
        consumer.seek(tp, record.offset());
        try {
            Thread.sleep(settings.retryBackoff().toMillis());
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            running.set(false);
        }
        return false;
    }

    private void handle(ConsumerRecord<byte[], byte[]> record) {
        if (record.value() == null) {
            throw new ProtocolException(dev.tandem.protocol.ErrorCode.BAD_REQUEST, "empty record (tombstone)");
        }
        CloudEvent event = codec.decode(record.value());
        String tenant = event.tenantId().orElseThrow(() -> new ProtocolException(
                dev.tandem.protocol.ErrorCode.BAD_REQUEST, "missing tenantid extension"));
        if (!dev.tandem.channel.ChannelName.isValidId(tenant)) {
            throw new ProtocolException(dev.tandem.protocol.ErrorCode.BAD_REQUEST,
                    "tenantid is not a valid tenant id (1-128 of A-Z a-z 0-9 _ . @ ~ -)");
        }
        List<String> channels = event.channels();
        boolean status = event.type().startsWith(CHANGE_STATUS_PREFIX);
        if (status) {
            // a backend's answer to a change Tandem relayed: goes to the change's author, the sink decides
            channels = List.of();
        } else if (channels.isEmpty()) {
            channels = settings.routesFor(event.type()).stream().flatMap(r -> r.channels(event).stream()).toList();
        }
        if (channels.size() > MAX_CHANNELS) {
            throw new ProtocolException(dev.tandem.protocol.ErrorCode.BAD_REQUEST, "the event names "
                    + channels.size() + " channels; at most " + MAX_CHANNELS + " per event");
        }
        if (channels.isEmpty() && !status) {
            throw new ProtocolException(dev.tandem.protocol.ErrorCode.UNKNOWN_CHANNEL,
                    "unroutable: no channels extension and no route for type " + event.type());
        }
        sink.publish(tenant, channels, event);
        handled.incrementAndGet();
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason) {
        ProducerRecord<byte[], byte[]> dlq = new ProducerRecord<>(settings.topicDeadLetter(), record.key(), record.value());
        dlq.headers().add(DLQ_REASON, String.valueOf(reason).getBytes(StandardCharsets.UTF_8));
        dlq.headers().add("tandem-dlq-topic", record.topic().getBytes(StandardCharsets.UTF_8));
        dlq.headers().add("tandem-dlq-partition", String.valueOf(record.partition()).getBytes(StandardCharsets.UTF_8));
        dlq.headers().add("tandem-dlq-offset", String.valueOf(record.offset()).getBytes(StandardCharsets.UTF_8));
        try {
            // wait: the original's offset is committed right after, so the copy must be durable first
            deadLetters.send(dlq).get();
        } catch (ExecutionException e) {
            throw new DeadLetterFailed(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DeadLetterFailed(e);
        }
        deadLettered.incrementAndGet();
        LOG.log(System.Logger.Level.INFO, "dead-lettered " + record.topic() + "-" + record.partition() + "@"
                + record.offset() + ": " + reason);
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

    /** The dead-letter copy could not be written: retry the event rather than lose it. */
    private static final class DeadLetterFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DeadLetterFailed(Throwable cause) {
            super(cause);
        }
    }
}
