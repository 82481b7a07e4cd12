package dev.tandem.conformance;

import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.LongStream;

import dev.tandem.channel.ChannelKey;
import dev.tandem.conformance.BrokerConformanceTest.Recorder;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

import org.junit.jupiter.api.Test;

import static dev.tandem.conformance.BrokerConformanceTest.newTenant;
import static dev.tandem.conformance.BrokerConformanceTest.offsets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The delivery part of the {@link dev.tandem.broker.Broker} contract: every subscriber gets each
 * publication once, in offset order, as the same frame; ephemeral publications live only;
 * unsubscribing stops delivery; each channel and each tenant keeps its own offsets and subscribers.
 */
interface BrokerDeliveryContract extends BrokerFixture {
    @Test
    default void everySubscriberReceivesEachPublicationOnceInOffsetOrderAsTheSameEventFrame() {
        ChannelKey ch = key("location:wh-1");
        Recorder a = subscribeLive(ch);
        Recorder b = subscribeLive(ch);
        List<Publication> published = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            published.add(broker().publish(ch, draft("n", i)));
        }
        List<Long> expected = LongStream.rangeClosed(1, 20).boxed().toList();
        assertEquals(expected, offsets(a.await(20)));
        assertEquals(expected, offsets(b.await(20)));
        for (int i = 0; i < 20; i++) {
            ServerFrame.Event event = (ServerFrame.Event) codec().decodeServer(a.frames().get(i));
            assertEquals("location:wh-1", event.channel(), "frames name the channel without the tenant");
            assertEquals(published.get(i).position(), event.position());
            assertEquals(published.get(i).eventIdGiven() ? Optional.of(published.get(i).eventId()) : Optional.empty(),
                    event.eventId());
            assertEquals(i + 1, event.data().get("n").asInt());
            assertEquals(a.frames().get(i), b.frames().get(i));
        }
    }

    @Test
    default void ephemeralPublicationsHaveNoPositionAndAreNotKeptInHistory() {
        ChannelKey ch = key("location:wh-1");
        Recorder live = subscribeLive(ch);
        Publication first = broker().publish(ch, draft("n", 1));
        Publication typing = broker().publish(ch, new Draft("typing", codec().object(), true, Optional.empty(),
                Optional.of("alice")));
        Publication second = broker().publish(ch, draft("n", 2));

        assertEquals(Optional.empty(), typing.position());
        assertEquals(1, first.position().orElseThrow().offset());
        assertEquals(2, second.position().orElseThrow().offset(), "an ephemeral publication takes no offset");
        assertEquals(2, broker().top(ch).offset());

        List<Publication> got = live.await(3);
        assertEquals(List.of("test.event", "typing", "test.event"), got.stream().map(Publication::type).toList(),
                "ephemeral publications are delivered live, in order");
        ServerFrame.Event frame = (ServerFrame.Event) codec().decodeServer(live.frames().get(1));
        assertEquals(Optional.empty(), frame.position());
        assertEquals(Optional.of("alice"), frame.from());

        Recorder late = newRecorder();
        Recovery rec = broker().subscribe(ch, late, Optional.of(new Position(first.position().get().epoch(), 0)),
                late.beforeLive());
        assertTrue(rec.recovered());
        assertEquals(List.of(1L, 2L), offsets(rec.missed()));
    }

    @Test
    default void unsubscribeStopsDelivery() {
        ChannelKey ch = key("location:wh-1");
        Recorder leaving = subscribeLive(ch);
        Recorder staying = subscribeLive(ch);
        broker().publish(ch, draft("n", 1));
        leaving.await(1);
        staying.await(1);

        broker().unsubscribe(ch, leaving);
        broker().publish(ch, draft("n", 2));
        broker().publish(ch, draft("n", 3));
        staying.await(3);
        assertEquals(List.of(1L), offsets(leaving.received()));

        broker().unsubscribe(ch, leaving); // again: ignored
        broker().unsubscribe(key("location:never-used"), newRecorder()); // unknown: ignored
    }

    @Test
    default void aSubscriberOnTwoChannelsGetsEachChannelsOwnOffsets() {
        ChannelKey one = key("location:wh-1");
        ChannelKey two = key("location:wh-2");
        Recorder r = newRecorder();
        broker().subscribe(one, r, Optional.empty(), r.beforeLive());
        broker().subscribe(two, r, Optional.empty(), x -> { });
        broker().publish(one, draft("n", 1));
        broker().publish(two, draft("n", 1));
        broker().publish(one, draft("n", 2));
        List<Publication> got = r.await(3);
        assertEquals(List.of(1L, 2L), offsets(got.stream().filter(p -> p.channel().equals(one)).toList()));
        assertEquals(List.of(1L), offsets(got.stream().filter(p -> p.channel().equals(two)).toList()));
    }

    @Test
    default void tenantsAreIsolated() {
        ChannelKey mine = key("location:wh-1");
        ChannelKey theirs = rules().resolve(newTenant(), "location:wh-1");
        assertEquals(mine.name(), theirs.name());
        Recorder mineSub = subscribeLive(mine);
        Recorder theirsSub = subscribeLive(theirs);

        for (int i = 1; i <= 3; i++) {
            broker().publish(mine, draft("n", i));
        }
        Publication other = broker().publish(theirs, draft("n", 100));
        assertEquals(1, other.position().orElseThrow().offset(), "the other tenant's channel has its own offsets");
        assertEquals(3, broker().top(mine).offset());
        assertEquals(1, broker().top(theirs).offset());

        // a later publication on each proves everything before it was delivered
        broker().publish(mine, draft("n", 4));
        broker().publish(theirs, draft("n", 101));
        assertEquals(List.of(1L, 2L, 3L, 4L), offsets(mineSub.await(4)));
        assertEquals(List.of(1L, 2L), offsets(theirsSub.await(2)));
        assertTrue(mineSub.received().stream().allMatch(p -> p.channel().equals(mine)));
        assertTrue(theirsSub.received().stream().allMatch(p -> p.channel().equals(theirs)));

        Recorder replay = newRecorder();
        Recovery rec = broker().subscribe(theirs, replay, Optional.of(new Position(broker().top(theirs).epoch(), 0)),
                replay.beforeLive());
        assertEquals(List.of(100, 101), rec.missed().stream().map(p -> p.data().get("n").asInt()).toList());
    }
}
