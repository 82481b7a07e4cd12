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

    /** A delta subscriber that records what it would send, as a connection's subscription does. */
    private static final class DeltaSubscriber implements Subscriber {
        final List<Encoded> sent = new ArrayList<>();
        Optional<Position> last = Optional.empty();

        @Override
        public void deliver(Publication p, Encoded frame) {
            sent.add(frame.forDelta(last));
            last = p.position().or(() -> last);
        }

        @Override
        public boolean delta() {
            return true;
        }
    }

    private Publication stock(ChannelKey channel, long offset, int qty) {
        return new Publication(channel, Optional.of(new Position("e1", offset)), "stock.updated", "evt-" + offset,
                Instant.parse("2030-01-01T00:00:00Z"), Optional.empty(),
                codec.object().put("sku", "A-1").put("name", "Anvil, forged, 20 kg").put("location", "wh-7")
                        .put("qty", qty), 1, false);
    }

    @Test
    void aPublicationsDeltaIsMadeOnceAndSharedByEveryDeltaSubscriber() {
        DeltaSubscriber a = new DeltaSubscriber();
        DeltaSubscriber b = new DeltaSubscriber();
        List<Encoded> plain = new ArrayList<>();
        hub.add(acme, a);
        hub.add(acme, b);
        hub.add(acme, (p, f) -> plain.add(f));
        hub.deliver(stock(acme, 1, 10));
        hub.deliver(stock(acme, 2, 9));
        assertSame(a.sent.get(0), b.sent.get(0), "the whole text, made once");
        assertSame(a.sent.get(1), b.sent.get(1), "the delta, made once");
        ServerFrame.Event whole = (ServerFrame.Event) codec.decodeServer(a.sent.get(0).text());
        ServerFrame.Event delta = (ServerFrame.Event) codec.decodeServer(a.sent.get(1).text());
        assertEquals(ServerFrame.Event.Form.TEXT, whole.form());
        assertEquals(ServerFrame.Event.Form.FOSSIL, delta.form());
        byte[] rebuilt = dev.tandem.delta.Fossil.apply(whole.data().textValue().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                delta.data().textValue().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(codec.write(stock(acme, 2, 9).data()), new String(rebuilt, java.nio.charset.StandardCharsets.UTF_8));
        ServerFrame.Event p = (ServerFrame.Event) codec.decodeServer(plain.get(1).text());
        assertEquals(ServerFrame.Event.Form.PAYLOAD, p.form(), "subscribers without deltas get the payload itself");
        assertEquals(Optional.empty(), p.eventId(), "a generated id stays out of the frame");

        // a subscriber that joins now holds no payload: its first event is whole, then deltas
        DeltaSubscriber late = new DeltaSubscriber();
        hub.add(acme, late);
        hub.deliver(stock(acme, 3, 8));
        assertEquals(ServerFrame.Event.Form.FOSSIL, ((ServerFrame.Event) codec.decodeServer(a.sent.get(2).text())).form());
        assertEquals(ServerFrame.Event.Form.TEXT, ((ServerFrame.Event) codec.decodeServer(late.sent.get(0).text())).form());
    }

    @Test
    void aChannelKeepsNoPayloadOnceItsLastDeltaSubscriberLeaves() {
        DeltaSubscriber a = new DeltaSubscriber();
        hub.add(acme, a);
        hub.deliver(stock(acme, 1, 10));
        hub.remove(acme, a);
        DeltaSubscriber again = new DeltaSubscriber();
        again.last = Optional.of(new Position("e1", 1)); // claims to hold offset 1: the hub no longer does
        hub.add(acme, again);
        hub.deliver(stock(acme, 2, 9));
        assertEquals(ServerFrame.Event.Form.TEXT, ((ServerFrame.Event) codec.decodeServer(again.sent.get(0).text())).form(),
                "no base kept across a time without delta subscribers");
    }
}
