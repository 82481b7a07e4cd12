package dev.tandem.broker;

import dev.tandem.conformance.BrokerConformanceTest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;
import dev.tandem.telemetry.Telemetry;
import dev.tandem.testing.MutableClock;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryBrokerTest extends BrokerConformanceTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private final List<String> published = new CopyOnWriteArrayList<>();
    private final Telemetry telemetry = new Telemetry() {
        @Override
        public void published(String namespace, boolean ephemeral) {
            published.add(namespace + (ephemeral ? "~" : ""));
        }
    };

    @Override
    protected Broker createBroker(Hub hub, ChannelRules rules) {
        return new MemoryBroker(hub, rules, telemetry, clock);
    }

    @Override
    protected ChannelRules createRules() {
        return ChannelRules.create(Config.just(ConfigSources.create(Map.of(
                "namespaces.small.history-size", String.valueOf(SMALL_HISTORY),
                "namespaces.nohist.history-size", "0",
                "namespaces.big.history-size", String.valueOf(BIG_HISTORY),
                "namespaces.short.history-ttl", "PT1M"))));
    }

    private MemoryBroker memory() {
        return (MemoryBroker) broker;
    }

    @Test
    void sweepForgetsIdleChannelsWithNeitherHistoryNorSubscribers() {
        ChannelKey idle = key("location:idle");
        ChannelKey withHistory = key("location:busy");
        ChannelKey withSubscriber = key("nohist:watched");
        Position idleBefore = broker.top(idle);
        broker.publish(withHistory, draft("n", 1));
        Recorder watcher = subscribeLive(withSubscriber);
        broker.publish(withSubscriber, draft("n", 1));
        assertEquals(3, memory().channelCount());

        assertEquals(1, memory().sweep());
        assertEquals(2, memory().channelCount());
        assertEquals(1, broker.top(withHistory).offset(), "a channel with history is kept");
        assertEquals(1, broker.top(withSubscriber).offset(), "a channel with a subscriber is kept");

        broker.unsubscribe(withSubscriber, watcher);
        assertEquals(1, memory().sweep());
        assertEquals(1, memory().channelCount());

        // a forgotten channel starts over in a new epoch, so old positions are not recovered
        Position idleAfter = broker.top(idle);
        assertNotEquals(idleBefore.epoch(), idleAfter.epoch());
        assertEquals(0, idleAfter.offset());
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(idle, r, Optional.of(idleBefore), r.beforeLive());
        assertFalse(rec.recovered());
    }

    @Test
    void theSourceEventIdsRememberedFollowTheHistoryWindow() {
        ChannelKey small = key("small:ids");
        for (int i = 1; i <= SMALL_HISTORY + 2; i++) {
            broker.publish(small, new Draft("t", codec.object().put("i", i), false, Optional.of("src-" + i), Optional.empty()));
        }
        Publication last = broker.publish(small, new Draft("t", codec.object(), false,
                Optional.of("src-" + (SMALL_HISTORY + 2)), Optional.empty()));
        assertEquals(SMALL_HISTORY + 2, last.position().orElseThrow().offset(), "still in the window: same offset");
        Publication old = broker.publish(small, new Draft("t", codec.object(), false, Optional.of("src-1"), Optional.empty()));
        assertEquals(SMALL_HISTORY + 3, old.position().orElseThrow().offset(), "out of the window: published again");

        ChannelKey brief = key("short:ids");
        broker.publish(brief, new Draft("t", codec.object(), false, Optional.of("once"), Optional.empty()));
        assertEquals(1, broker.publish(brief, new Draft("t", codec.object(), false, Optional.of("once"), Optional.empty()))
                .position().orElseThrow().offset());
        clock.advance(Duration.ofMinutes(2));
        assertEquals(2, broker.publish(brief, new Draft("t", codec.object(), false, Optional.of("once"), Optional.empty()))
                .position().orElseThrow().offset(), "past the history's TTL the id is forgotten too");
    }

    @Test
    void aTenantsSubscribersBringAtMostItsCapOfChannelsIntoMemoryWhileItsTrafficIsNeverRefused() {
        MemoryBroker capped = new MemoryBroker(new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP, clock, 2);
        ChannelKey a = rules.resolve("capped", "location:a");
        capped.subscribe(a, new Recorder(), Optional.empty(), r -> { });
        capped.subscribe(rules.resolve("capped", "location:b"), new Recorder(), Optional.empty(), r -> { });
        dev.tandem.protocol.ProtocolException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.tandem.protocol.ProtocolException.class, () -> capped.subscribe(rules.resolve("capped", "location:c"),
                        new Recorder(), Optional.empty(), r -> { }));
        assertEquals(dev.tandem.protocol.ErrorCode.LIMIT_EXCEEDED, e.code());
        assertEquals(2, capped.channelCount());
        // the tenant's traffic goes on: a publication, a position read, a user's inbox
        assertEquals(1, capped.publish(rules.resolve("capped", "location:d"), draft("n", 1)).position().orElseThrow().offset());
        assertEquals(0, capped.top(rules.resolve("capped", "location:e")).offset());
        capped.subscribe(rules.resolve("capped", "user:u1"), new Recorder(), Optional.empty(), r -> { });
        assertEquals(5, capped.channelCount());
        capped.subscribe(rules.resolve("other", "location:c"), new Recorder(), Optional.empty(), r -> { });
        assertEquals(1, capped.publish(a, draft("n", 1)).position().orElseThrow().offset(), "known channels still work");
    }

    @Test
    void historyExpiresAfterTheNamespacesTtl() {
        ChannelKey ch = key("short:s1"); // history-ttl PT1M
        for (int i = 1; i <= 3; i++) {
            broker.publish(ch, draft("n", i));
        }
        clock.advance(Duration.ofSeconds(30));
        broker.publish(ch, draft("n", 4));
        broker.publish(ch, draft("n", 5));
        String epoch = broker.top(ch).epoch();

        clock.advance(Duration.ofSeconds(31)); // 1..3 are 61 s old, 4..5 are 31 s old
        Recorder behind = new Recorder();
        Recovery lost = broker.subscribe(ch, behind, Optional.of(new Position(epoch, 2)), behind.beforeLive());
        assertFalse(lost.recovered(), "offset 3 expired, so a client at 2 cannot be recovered");

        Recorder atThree = new Recorder();
        Recovery kept = broker.subscribe(ch, atThree, Optional.of(new Position(epoch, 3)), atThree.beforeLive());
        assertTrue(kept.recovered());
        assertEquals(List.of(4L, 5L), offsets(kept.missed()));

        clock.advance(Duration.ofSeconds(30)); // everything is older than a minute now
        Recorder atFour = new Recorder();
        assertFalse(broker.subscribe(ch, atFour, Optional.of(new Position(epoch, 4)), atFour.beforeLive()).recovered());
        Recorder atTop = new Recorder();
        Recovery upToDate = broker.subscribe(ch, atTop, Optional.of(new Position(epoch, 5)), atTop.beforeLive());
        assertTrue(upToDate.recovered());
        assertEquals(new Position(epoch, 5), upToDate.top(), "expiry drops history, never offsets");
        assertEquals(6, broker.publish(ch, draft("n", 6)).position().orElseThrow().offset());
    }

    @Test
    void anEntryExactlyAsOldAsTheTtlIsStillKept() {
        ChannelKey ch = key("short:edge");
        broker.publish(ch, draft("n", 1));
        String epoch = broker.top(ch).epoch();
        clock.advance(Duration.ofMinutes(1));
        Recorder r = new Recorder();
        Recovery rec = broker.subscribe(ch, r, Optional.of(new Position(epoch, 0)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(1L), offsets(rec.missed()));
    }

    @Test
    void sweepDropsExpiredHistoryAndThenForgetsTheChannel() {
        ChannelKey ch = key("short:s2");
        broker.publish(ch, draft("n", 1));
        assertEquals(0, memory().sweep());
        clock.advance(Duration.ofMinutes(2));
        assertEquals(1, memory().sweep());
        assertEquals(0, memory().channelCount());
    }

    @Test
    void publicationsAreStampedWithTheClock() {
        Publication p = broker.publish(key("location:wh-1"), draft("n", 1));
        assertEquals(clock.instant(), p.time());
        assertTrue(p.acceptedNanos() != 0);
    }

    @Test
    void reportsPublicationsToTelemetry() {
        broker.publish(key("location:wh-1"), draft("n", 1));
        broker.publish(key("doc:note:n1"), new Draft("typing", codec.object(), true, Optional.empty(), Optional.empty()));
        assertEquals(List.of("location", "doc~"), published);
    }

    @Test
    void closeForgetsEverything() {
        broker.publish(key("location:wh-1"), draft("n", 1));
        memory().close();
        assertEquals(0, memory().channelCount());
    }

    /**
     * A sweep that runs while a session subscribes to or publishes on an idle channel must not
     * leave the two on different copies of the channel (different epochs): the subscriber would be
     * told one epoch and then receive offsets of another, or miss publications altogether.
     */
    @Test
    @Timeout(60)
    void aConcurrentSweepNeverSplitsAChannelInTwo() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService sweeper = Executors.newSingleThreadExecutor();
        Future<?> sweeping = sweeper.submit(() -> {
            while (!stop.get()) {
                memory().sweep();
            }
        });
        List<String> problems = new ArrayList<>();
        try {
            for (int i = 0; i < 20_000 && problems.isEmpty(); i++) {
                ChannelKey ch = key("nohist:c" + (i % 4)); // no history, so idle whenever unsubscribed
                Recorder r = new Recorder();
                Recovery rec = broker.subscribe(ch, r, Optional.empty(), r.beforeLive());
                Publication p = broker.publish(ch, draft("n", i));
                List<Publication> got = r.received();
                if (got.size() != 1) {
                    problems.add("iteration " + i + ": the subscriber got " + got.size() + " publications");
                } else if (!rec.top().epoch().equals(p.position().orElseThrow().epoch())) {
                    problems.add("iteration " + i + ": subscribed in epoch " + rec.top().epoch()
                            + " but the publication went out in " + p.position().get().epoch());
                }
                broker.unsubscribe(ch, r);
            }
        } finally {
            stop.set(true);
            sweeping.get(10, TimeUnit.SECONDS);
            sweeper.shutdownNow();
        }
        assertEquals(List.of(), problems);
    }

}
