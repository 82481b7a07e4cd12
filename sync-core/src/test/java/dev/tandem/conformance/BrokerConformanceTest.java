package dev.tandem.conformance;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The conformance suite of the {@link Broker} port: every adapter (the in-memory one here, the
 * Redis one of the queue module) extends it and so is held to the same contract: gap-free
 * increasing offsets per channel and epoch, ordered at-most-once delivery per subscription,
 * bounded history and recovery on subscribe with no gap and no duplicate, and tenant isolation.
 * The cases are grouped by behaviour in the contracts it implements: {@link BrokerOffsetsContract},
 * {@link BrokerDeliveryContract} and {@link BrokerRecoveryContract}; this class is their fixture.
 *
 * <p>Adapters implement {@link #createBroker}; the hooks ({@link #deliveryTimeout},
 * {@link #destroyBroker}) adjust the suite to asynchronous brokers.
 * Cross-node cases belong to the cluster suite that comes with the Redis broker. The suite never assumes that delivery happens on the publisher's thread: it waits
 * for deliveries, and proves the absence of one with a later publication on the same channel
 * (delivery is in offset order). Each test works in a tenant of its own, so adapters backed by
 * a shared store need no cleanup between tests.
 *
 * <p>The rules given to {@link #createBroker} are the built-in namespaces plus {@code small}
 * (history of {@value #SMALL_HISTORY}), {@code nohist} (no history) and {@code big} (history
 * of {@value #BIG_HISTORY}).
 */
public abstract class BrokerConformanceTest
        implements BrokerOffsetsContract, BrokerDeliveryContract, BrokerRecoveryContract {
    /** History size of the {@code small} namespace. */
    protected static final int SMALL_HISTORY = 3;
    /** History size of the {@code big} namespace. */
    protected static final int BIG_HISTORY = 5000;

    /** The codec the hub encodes with. */
    protected final FrameCodec codec = FrameCodec.create();
    /** The rules of the suite. */
    protected ChannelRules rules;
    /** This node's hub. */
    protected Hub hub;
    /** The broker under test. */
    protected Broker broker;
    /** A tenant of this test's own. */
    protected String tenant;

    /**
     * Creates the broker under test, delivering to {@code hub} and taking history bounds from
     * {@code rules}.
     */
    protected abstract Broker createBroker(Hub hub, ChannelRules rules);

    /** Releases a broker made by {@link #createBroker} (default: close it). */
    protected void destroyBroker(Broker broker) {
        broker.close();
    }

    /** How long to wait for a delivery (asynchronous brokers may need more). */
    protected Duration deliveryTimeout() {
        return Duration.ofSeconds(5);
    }

    /** The channel rules of the suite. */
    protected ChannelRules createRules() {
        return ChannelRules.create(Config.just(ConfigSources.create(Map.of(
                "namespaces.small.history-size", String.valueOf(SMALL_HISTORY),
                "namespaces.nohist.history-size", "0",
                "namespaces.big.history-size", String.valueOf(BIG_HISTORY)))));
    }

    @BeforeEach
    void setUpBroker() {
        rules = createRules();
        hub = new Hub(codec, Telemetry.NOOP);
        tenant = newTenant();
        broker = createBroker(hub, rules);
    }

    @AfterEach
    void tearDownBroker() {
        if (broker != null) {
            destroyBroker(broker);
        }
    }

    // ------------------------------------------------------------------ fixture

    @Override
    public Broker broker() {
        return broker;
    }

    @Override
    public FrameCodec codec() {
        return codec;
    }

    @Override
    public ChannelRules rules() {
        return rules;
    }

    /** A tenant id no other test uses. */
    protected static String newTenant() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return "t-" + HexFormat.of().formatHex(b);
    }

    @Override
    public ChannelKey key(String name) {
        return rules.resolve(tenant, name);
    }

    @Override
    public Draft draft(String field, int value) {
        return Draft.durable("test.event", codec.object().put(field, value));
    }

    @Override
    public Recorder subscribeLive(ChannelKey channel) {
        Recorder r = new Recorder();
        broker.subscribe(channel, r, Optional.empty(), r.beforeLive());
        return r;
    }

    @Override
    public Recorder newRecorder() {
        return new Recorder();
    }

    /** The offsets of durable publications, in order. */
    protected static List<Long> offsets(List<Publication> publications) {
        return publications.stream().map(p -> p.position().orElseThrow().offset()).toList();
    }

    /**
     * A subscriber that records what it gets, the way a session does: the recovery's missed
     * publications first (from {@code beforeLive}), then live ones.
     */
    public final class Recorder implements Subscriber {
        private final List<Publication> received = new ArrayList<>();
        private final List<String> frames = new ArrayList<>();
        private final AtomicInteger beforeLiveCalls = new AtomicInteger();
        private final AtomicInteger early = new AtomicInteger();
        private volatile Recovery recovery;

        @Override
        public synchronized void deliver(Publication publication, Encoded frame) {
            if (beforeLiveCalls.get() == 0) {
                early.incrementAndGet();
            }
            received.add(publication);
            frames.add(frame.text());
            notifyAll();
        }

        /** The callback to give to {@link Broker#subscribe}. */
        public Consumer<Recovery> beforeLive() {
            return rec -> {
                synchronized (this) {
                    beforeLiveCalls.incrementAndGet();
                    recovery = rec;
                    for (Publication p : rec.missed()) {
                        received.add(p);
                        frames.add(hub.encode(p));
                    }
                    notifyAll();
                }
            };
        }

        /** Waits until at least {@code n} publications were received, and returns them all. */
        public synchronized List<Publication> await(int n) {
            long deadline = System.nanoTime() + deliveryTimeout().toNanos();
            while (received.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + n + " publications, got " + received.size() + ": " + offsetsOrTypes());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            return List.copyOf(received);
        }

        /** What was received so far. */
        public synchronized List<Publication> received() {
            return List.copyOf(received);
        }

        /** The encoded frames received so far. */
        public synchronized List<String> frames() {
            return List.copyOf(frames);
        }

        /** How often beforeLive ran. */
        public int beforeLiveCalls() {
            return beforeLiveCalls.get();
        }

        /** Live deliveries that came before beforeLive ran. */
        public int earlyDeliveries() {
            return early.get();
        }

        /** The recovery beforeLive got. */
        public Recovery recovery() {
            return recovery;
        }

        private String offsetsOrTypes() {
            return received.stream().map(p -> p.position().map(pos -> String.valueOf(pos.offset())).orElse(p.type()))
                    .toList().toString();
        }
    }
}
