package dev.tandem.hub;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubTest {
    private final FrameCodec codec = FrameCodec.create();
    private final List<Integer> fanOuts = new ArrayList<>();
    private final Hub hub = new Hub(codec, new Telemetry() {
        @Override
        public void fannedOut(int subscribers) {
            fanOuts.add(subscribers);
        }
    });
    private final ChannelKey acme = new ChannelKey("acme", ChannelName.parse("location:wh-1").orElseThrow());
    private final ChannelKey globex = new ChannelKey("globex", ChannelName.parse("location:wh-1").orElseThrow());

    private Publication publication(ChannelKey channel, long offset) {
        return new Publication(channel, Optional.of(new Position("e1", offset)), "stock.updated", "evt-" + offset,
                Instant.parse("2030-01-01T00:00:00Z"), Optional.empty(), codec.object().put("qty", 7), 1);
    }

    @Test
    void reportsTheFirstAndLastSubscriberOfAChannel() {
        Subscriber a = (p, f) -> { };
        Subscriber b = (p, f) -> { };
        assertTrue(hub.add(acme, a));
        assertFalse(hub.add(acme, b));
        assertEquals(2, hub.subscriberCount(acme));
        assertFalse(hub.remove(acme, a));
        assertTrue(hub.hasSubscribers(acme));
        assertTrue(hub.remove(acme, b));
        assertFalse(hub.hasSubscribers(acme));
        assertEquals(0, hub.subscriberCount(acme));
        assertFalse(hub.remove(acme, b), "removing an unknown subscriber is not a last removal");
    }

    @Test
    void addingTheSameSubscriberTwiceDeliversOnce() {
        List<Encoded> got = new ArrayList<>();
        Subscriber a = (p, f) -> got.add(f);
        hub.add(acme, a);
        hub.add(acme, a);
        assertEquals(1, hub.deliver(publication(acme, 1)));
        assertEquals(1, got.size());
    }

    @Test
    void encodesAPublicationOnceForAllSubscribers() {
        List<Encoded> frames = new ArrayList<>();
        hub.add(acme, (p, f) -> frames.add(f));
        hub.add(acme, (p, f) -> frames.add(f));
        hub.add(acme, (p, f) -> frames.add(f));
        assertEquals(3, hub.deliver(publication(acme, 1)));
        assertEquals(3, frames.size());
        assertSame(frames.get(0), frames.get(1), "the same frame, not an equal copy");
        assertSame(frames.get(0), frames.get(2));
        ServerFrame.Event event = (ServerFrame.Event) codec.decodeServer(frames.get(0).text());
        assertEquals(frames.get(0).text(), new String(frames.get(0).utf8(), java.nio.charset.StandardCharsets.UTF_8),
                "the bytes every socket gets are the text's UTF-8");
        assertEquals("location:wh-1", event.channel());
        assertEquals(Optional.of(new Position("e1", 1)), event.position());
        assertEquals(List.of(3), fanOuts);
    }

    @Test
    void deliversOnlyToTheChannelsSubscribersInItsTenant() {
        List<Publication> acmeGot = new ArrayList<>();
        List<Publication> globexGot = new ArrayList<>();
        hub.add(acme, (p, f) -> acmeGot.add(p));
        hub.add(globex, (p, f) -> globexGot.add(p));
        hub.deliver(publication(acme, 1));
        assertEquals(1, acmeGot.size());
        assertEquals(List.of(), globexGot);
    }

    @Test
    void deliveringWithoutSubscribersIsCountedAsAFanOutOfZero() {
        assertEquals(0, hub.deliver(publication(acme, 1)));
        assertEquals(List.of(0), fanOuts);
    }
}
