package dev.tandem.conformance;

import dev.tandem.broker.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import dev.tandem.channel.ChannelKey;
import dev.tandem.conformance.BrokerConformanceTest.Recorder;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.tandem.conformance.BrokerConformanceTest.offsets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The recovery part of the {@link dev.tandem.broker.Broker} contract: subscribing from a position
 * replays what was missed, then goes live with no gap and no duplicate, also against a concurrent
 * publisher; a position the history no longer covers, of another epoch or ahead of the top is
 * answered as the contract says.
 */
interface BrokerRecoveryContract extends BrokerFixture {
    @Test
    default void subscribingWithoutAPositionReportsTheTopAndRecoversNothing() {
        ChannelKey ch = key("location:wh-1");
        broker().publish(ch, draft("n", 1));
        broker().publish(ch, draft("n", 2));
        Recorder r = newRecorder();
        Recovery rec = broker().subscribe(ch, r, Optional.empty(), r.beforeLive());
        assertEquals(broker().top(ch), rec.top());
        assertEquals(2, rec.top().offset());
        assertEquals(List.of(), rec.missed());
        assertFalse(rec.recovered());
        assertEquals(1, r.beforeLiveCalls());
        assertEquals(rec, r.recovery());
    }

    @Test
    default void replaysMissedPublicationsAfterAGivenPositionThenGoesLive() {
        ChannelKey ch = key("location:wh-1");
        for (int i = 1; i <= 5; i++) {
            broker().publish(ch, draft("n", i));
        }
        String epoch = broker().top(ch).epoch();
        Recorder r = newRecorder();
        Recovery rec = broker().subscribe(ch, r, Optional.of(new Position(epoch, 2)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(new Position(epoch, 5), rec.top());
        assertEquals(List.of(3L, 4L, 5L), offsets(rec.missed()));
        assertEquals(List.of(3, 4, 5), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
        assertEquals(1, r.beforeLiveCalls());
        assertEquals(rec, r.recovery(), "beforeLive gets the same recovery");

        broker().publish(ch, draft("n", 6));
        assertEquals(List.of(3L, 4L, 5L, 6L), offsets(r.await(4)));
        assertEquals(0, r.earlyDeliveries(), "nothing was delivered before beforeLive");
        assertEquals(1, r.beforeLiveCalls());
    }

    @Test
    default void aPositionAtTheTopIsRecoveredWithNothingMissed() {
        ChannelKey ch = key("location:wh-1");
        broker().publish(ch, draft("n", 1));
        Position top = broker().top(ch);
        Recorder r = newRecorder();
        Recovery rec = broker().subscribe(ch, r, Optional.of(top), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(), rec.missed());
        assertEquals(top, rec.top());
    }

    @Test
    default void offsetZeroOfAnUnusedChannelIsRecovered() {
        ChannelKey ch = key("location:fresh");
        Position top = broker().top(ch);
        Recorder r = newRecorder();
        Recovery rec = broker().subscribe(ch, r, Optional.of(new Position(top.epoch(), 0)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(), rec.missed());
        broker().publish(ch, draft("n", 1));
        assertEquals(List.of(1L), offsets(r.await(1)));
    }

    @Test
    default void aPositionOlderThanTheHistoryIsNotRecovered() {
        ChannelKey ch = key("small:s1");
        for (int i = 1; i <= 10; i++) {
            broker().publish(ch, draft("n", i));
        }
        String epoch = broker().top(ch).epoch();
        // the history keeps offsets 8, 9, 10: a client at 7 misses only those, one at 6 misses 7 too
        Recorder tooOld = newRecorder();
        Recovery lost = broker().subscribe(ch, tooOld, Optional.of(new Position(epoch, 6)), tooOld.beforeLive());
        assertFalse(lost.recovered());
        assertEquals(List.of(), lost.missed());
        assertEquals(new Position(epoch, 10), lost.top());

        Recorder veryOld = newRecorder();
        Recovery gone = broker().subscribe(ch, veryOld, Optional.of(new Position(epoch, 0)), veryOld.beforeLive());
        assertFalse(gone.recovered());
        assertEquals(List.of(), gone.missed());

        Recorder justInTime = newRecorder();
        Recovery kept = broker().subscribe(ch, justInTime, Optional.of(new Position(epoch, 7)), justInTime.beforeLive());
        assertTrue(kept.recovered());
        assertEquals(List.of(8L, 9L, 10L), offsets(kept.missed()));

        // an unrecovered subscription is still live from the top on
        broker().publish(ch, draft("n", 11));
        assertEquals(List.of(11L), offsets(tooOld.await(1)));
    }

    @Test
    default void aNamespaceWithoutHistoryNumbersPublicationsButReplaysNothing() {
        ChannelKey ch = key("nohist:n1");
        for (int i = 1; i <= 3; i++) {
            assertEquals(i, broker().publish(ch, draft("n", i)).position().orElseThrow().offset());
        }
        String epoch = broker().top(ch).epoch();
        Recorder r = newRecorder();
        Recovery behind = broker().subscribe(ch, r, Optional.of(new Position(epoch, 2)), r.beforeLive());
        assertFalse(behind.recovered());
        assertEquals(List.of(), behind.missed());

        Recorder upToDate = newRecorder();
        Recovery current = broker().subscribe(ch, upToDate, Optional.of(new Position(epoch, 3)), upToDate.beforeLive());
        assertTrue(current.recovered(), "nothing was missed, so nothing needs to be replayed");
    }

    @Test
    default void aPositionFromAnotherEpochIsNotRecovered() {
        ChannelKey ch = key("location:wh-1");
        broker().publish(ch, draft("n", 1));
        broker().publish(ch, draft("n", 2));
        Position top = broker().top(ch);
        String otherEpoch = top.epoch() + "x";
        for (long offset : new long[] {0, 1, 2, 99}) {
            Recorder r = newRecorder();
            Recovery rec = broker().subscribe(ch, r, Optional.of(new Position(otherEpoch, offset)), r.beforeLive());
            assertFalse(rec.recovered(), "offset " + offset + " of another epoch");
            assertEquals(List.of(), rec.missed());
            assertEquals(top, rec.top(), "the reply tells the client the current epoch");
            assertEquals(1, r.beforeLiveCalls());
        }
    }

    @Test
    default void aPositionAheadOfTheTopIsABadRequestAndSubscribesNothing() {
        ChannelKey ch = key("location:wh-1");
        broker().publish(ch, draft("n", 1));
        broker().publish(ch, draft("n", 2));
        String epoch = broker().top(ch).epoch();
        Recorder refused = newRecorder();
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> broker().subscribe(ch, refused, Optional.of(new Position(epoch, 3)), refused.beforeLive()));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals(0, refused.beforeLiveCalls());

        Recorder witness = subscribeLive(ch);
        broker().publish(ch, draft("n", 3));
        witness.await(1);
        assertEquals(List.of(), refused.received(), "a refused subscription receives nothing");
    }

    @Test
    @Timeout(60)
    default void aPublicationConcurrentWithSubscribeIsNeitherLostNorDuplicated() throws Exception {
        int iterations = 150;
        int perIteration = 20;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            for (int it = 0; it < iterations; it++) {
                ChannelKey ch = key("location:race-" + it);
                String epoch = broker().top(ch).epoch();
                boolean resume = it % 2 == 0;
                CountDownLatch started = new CountDownLatch(1);
                int subscribeAfter = ThreadLocalRandom.current().nextInt(perIteration);
                Future<?> publisher = pool.submit(() -> {
                    for (int i = 1; i <= perIteration; i++) {
                        if (i == subscribeAfter + 1) {
                            started.countDown();
                        }
                        broker().publish(ch, draft("n", i));
                    }
                    started.countDown();
                    return null;
                });
                started.await(5, TimeUnit.SECONDS);
                Recorder r = newRecorder();
                Recovery rec = broker().subscribe(ch, r, resume ? Optional.of(new Position(epoch, 0)) : Optional.empty(),
                        r.beforeLive());
                publisher.get(10, TimeUnit.SECONDS);

                long first = resume ? 1 : rec.top().offset() + 1;
                List<Long> expected = LongStream.rangeClosed(first, perIteration).boxed().toList();
                List<Publication> got = r.await(expected.size());
                // one more publication proves nothing else was on its way
                broker().publish(ch, draft("n", perIteration + 1));
                got = r.await(expected.size() + 1);
                List<Long> all = new ArrayList<>(expected);
                all.add((long) perIteration + 1);
                assertEquals(all, offsets(got), "iteration " + it + (resume ? " (resuming)" : " (live)"));
                assertEquals(resume, rec.recovered());
                assertEquals(1, r.beforeLiveCalls());
                assertEquals(0, r.earlyDeliveries(), "iteration " + it + ": a live delivery overtook beforeLive");
                broker().unsubscribe(ch, r);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
