package dev.tandem.conformance;

import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.conformance.BrokerConformanceTest.Recorder;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.tandem.conformance.BrokerConformanceTest.offsets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The offsets part of the {@link dev.tandem.broker.Broker} contract: gap-free offsets from one in
 * the channel's epoch, also under concurrent publishers, the draft carried into the publication,
 * publications kept with no subscriber, and a redelivered source event keeping its first offset.
 */
interface BrokerOffsetsContract extends BrokerFixture {
    @Test
    default void offsetsStartAtOneAndIncreaseByOneInTheChannelsEpoch() {
        ChannelKey ch = key("location:wh-1");
        Position start = broker().top(ch);
        assertEquals(0, start.offset());
        for (int i = 1; i <= 5; i++) {
            Publication p = broker().publish(ch, draft("n", i));
            assertEquals(new Position(start.epoch(), i), p.position().orElseThrow());
        }
        assertEquals(new Position(start.epoch(), 5), broker().top(ch));
    }

    @Test
    default void theAcceptedPublicationCarriesTheDraft() {
        ChannelKey ch = key("location:wh-1");
        JsonNode data = codec().parse("{\"sku\":\"A-1\",\"qty\":7}");
        Publication given = broker().publish(ch, new Draft("stock.updated", data, false, Optional.of("evt-1"),
                Optional.of("alice")));
        assertEquals(ch, given.channel());
        assertEquals("stock.updated", given.type());
        assertEquals("evt-1", given.eventId());
        assertEquals(Optional.of("alice"), given.from());
        assertEquals(data, given.data());

        Publication generated = broker().publish(ch, Draft.durable("stock.updated", data));
        assertFalse(generated.eventId().isBlank());
        assertNotEquals(given.eventId(), generated.eventId());
        assertEquals(Optional.empty(), generated.from());
    }

    @Test
    default void publishingWithoutSubscribersStillNumbersAndKeepsPublications() {
        ChannelKey ch = key("location:wh-1");
        broker().publish(ch, draft("n", 1));
        broker().publish(ch, draft("n", 2));
        Position top = broker().top(ch);
        assertEquals(2, top.offset());

        Recorder r = newRecorder();
        Recovery rec = broker().subscribe(ch, r, Optional.of(new Position(top.epoch(), 0)), r.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(1L, 2L), offsets(rec.missed()));
        assertEquals(List.of(1, 2), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
    }

    @Test
    @Timeout(60)
    default void concurrentPublishersGetDistinctGapFreeOffsetsAndSubscribersSeeThemInOrder() throws Exception {
        ChannelKey ch = key("big:hot");
        Recorder a = subscribeLive(ch);
        Recorder b = subscribeLive(ch);
        int threads = 4;
        int each = 250;
        int total = threads * each;
        ConcurrentLinkedQueue<Long> issued = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        issued.add(broker().publish(ch, draft("t" + thread, i)).position().orElseThrow().offset());
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Long> expected = LongStream.rangeClosed(1, total).boxed().toList();
        assertEquals(total, issued.size());
        assertEquals(expected, new ArrayList<>(new TreeSet<>(issued)), "offsets are distinct and gap-free");
        assertEquals(expected, offsets(a.await(total)));
        assertEquals(expected, offsets(b.await(total)));
        assertEquals(total, broker().top(ch).offset());
        // and each publisher's own publications stay in its order
        for (int t = 0; t < threads; t++) {
            String field = "t" + t;
            List<Integer> mine = a.received().stream().filter(p -> p.data().has(field))
                    .map(p -> p.data().get(field).asInt()).toList();
            assertEquals(java.util.stream.IntStream.range(0, each).boxed().toList(), mine);
        }
    }

    @Test
    default void aRedeliveredSourceEventKeepsItsOffsetAndIsDeliveredOnce() {
        ChannelKey ch = key("location:wh-1");
        Recorder live = subscribeLive(ch);
        Draft first = new Draft("stock.updated", codec().object().put("n", 1), false, Optional.of("src-1"), Optional.empty());
        Publication p1 = broker().publish(ch, first);
        Publication again = broker().publish(ch, first);
        Publication p2 = broker().publish(ch, new Draft("stock.updated", codec().object().put("n", 2), false,
                Optional.of("src-2"), Optional.empty()));
        assertEquals(p1.position(), again.position(), "the redelivery keeps the first offset");
        assertEquals(List.of(1L, 2L), offsets(live.await(2)));
        assertEquals(2, p2.position().orElseThrow().offset());
        assertEquals(List.of("src-1", "src-2"), live.received().stream().map(Publication::eventId).toList());
        assertEquals(2, broker().top(ch).offset());
    }
}
