package dev.tandem.hub;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.node.TextNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.delta.Fossil;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.Telemetry;

/**
 * The local subscription registry of a node: which subscribers want which channel, and the
 * fan-out of a publication to them.
 *
 * <p>Lookups are one map access per publication (never a scan over connections), and each
 * publication is encoded once, to text and UTF-8 bytes, and the same {@link Encoded} frame handed
 * to every subscriber. On a channel with delta subscribers the hub keeps the last durable
 * payload's text, and makes the Fossil delta from it to the next once per publication, however
 * many subscribers get it. Thread-safe; publications of one channel are delivered one at a time
 * (the broker's guarantee), which is what keeps the channel's last payload in order.
 */
public final class Hub {
    private final Map<ChannelKey, Set<Subscriber>> channels = new ConcurrentHashMap<>();
    /** Channels with delta subscribers on this node. */
    private final Map<ChannelKey, DeltaChannel> deltaChannels = new ConcurrentHashMap<>();
    private final FrameCodec codec;
    private final Telemetry telemetry;

    /** A channel's delta subscribers and the payload its next delta is made against. */
    private static final class DeltaChannel {
        /** Guarded by the map's compute. */
        private int subscribers;
        /** The last durable payload delivered: written by its channel's deliveries, one at a time. */
        private volatile Base last;
    }

    /** A durable payload's position and JSON text (UTF-8). */
    private record Base(Position position, byte[] text) {
    }

    /** A hub encoding with {@code codec} and reporting to {@code telemetry}. */
    public Hub(FrameCodec codec, Telemetry telemetry) {
        this.codec = codec;
        this.telemetry = telemetry;
    }

    /**
     * Adds a subscriber.
     *
     * @return true when it is the channel's first subscriber on this node
     */
    public boolean add(ChannelKey channel, Subscriber subscriber) {
        if (subscriber.delta()) {
            deltaChannels.compute(channel, (k, d) -> {
                DeltaChannel c = d == null ? new DeltaChannel() : d;
                c.subscribers++;
                return c;
            });
        }
        boolean[] first = new boolean[1];
        channels.compute(channel, (k, set) -> {
            Set<Subscriber> s = set == null ? ConcurrentHashMap.newKeySet() : set;
            first[0] = s.isEmpty();
            s.add(subscriber);
            return s;
        });
        return first[0];
    }

    /**
     * Removes a subscriber.
     *
     * @return true when it was the channel's last subscriber on this node
     */
    public boolean remove(ChannelKey channel, Subscriber subscriber) {
        boolean[] last = new boolean[1];
        boolean[] removed = new boolean[1];
        channels.computeIfPresent(channel, (k, set) -> {
            removed[0] = set.remove(subscriber);
            if (removed[0] && set.isEmpty()) {
                last[0] = true;
                return null;
            }
            return set;
        });
        if (removed[0] && subscriber.delta()) {
            deltaChannels.computeIfPresent(channel, (k, d) -> --d.subscribers == 0 ? null : d);
        }
        return last[0];
    }

    /** Whether the channel has subscribers on this node. */
    public boolean hasSubscribers(ChannelKey channel) {
        return channels.containsKey(channel);
    }

    /** How many subscribers the channel has on this node. */
    public int subscriberCount(ChannelKey channel) {
        Set<Subscriber> s = channels.get(channel);
        return s == null ? 0 : s.size();
    }

    /** Encodes a publication's frame (the same text every subscriber without deltas gets). */
    public String encode(Publication publication) {
        return codec.encode(publication.toFrame());
    }

    /**
     * A publication's event frame for a delta subscriber that does not hold the payload before
     * it (a replay): the whole payload as text.
     */
    public static Encoded encodeWhole(FrameCodec codec, Publication publication) {
        ServerFrame frame = publication.toFrame();
        if (!(frame instanceof ServerFrame.Event e)) {
            return new Encoded(codec.encode(frame), publication.frameOp());
        }
        return textFrame(codec, e, codec.write(e.data()));
    }

    /**
     * Delivers a publication to every local subscriber of its channel.
     *
     * @return how many subscribers it was handed to
     */
    public int deliver(Publication publication) {
        Set<Subscriber> subscribers = channels.get(publication.channel());
        if (subscribers == null || subscribers.isEmpty()) {
            telemetry.fannedOut(0);
            return 0;
        }
        Encoded frame = encodeForFanOut(publication);
        int n = 0;
        for (Subscriber s : subscribers) {
            s.deliver(publication, frame);
            n++;
        }
        telemetry.fannedOut(n);
        return n;
    }

    /**
     * The publication's shared frame; on a channel with delta subscribers, with its delta
     * encodings. The payload is written to JSON text once for all of them.
     */
    private Encoded encodeForFanOut(Publication p) {
        DeltaChannel deltas = deltaChannels.get(p.channel());
        ServerFrame frame = p.toFrame();
        if (deltas == null || !(frame instanceof ServerFrame.Event e)) {
            return new Encoded(codec.encode(frame), p.frameOp());
        }
        String payload = codec.write(e.data());
        String plain = codec.encodeEvent(e, payload);
        if (p.position().isEmpty()) {
            // ephemeral: never a delta, and not the base of one (clients do not keep it)
            return Encoded.withDeltas(plain, Optional.empty(), Optional.empty(), () -> textFrame(codec, e, payload));
        }
        byte[] text = payload.getBytes(StandardCharsets.UTF_8);
        Base previous = deltas.last;
        deltas.last = new Base(p.position().get(), text);
        Optional<Encoded> delta = Optional.empty();
        if (previous != null) {
            byte[] d = Fossil.encode(previous.text(), text);
            if (d.length < text.length) { // a delta no smaller than the payload saves nothing
                String dt = new String(d, StandardCharsets.UTF_8);
                delta = Optional.of(new Encoded(codec.encodeEvent(e.with(ServerFrame.Event.Form.FOSSIL,
                        TextNode.valueOf(dt)), dt), "event"));
            }
        }
        return Encoded.withDeltas(plain, Optional.ofNullable(previous).map(Base::position), delta,
                () -> textFrame(codec, e, payload));
    }

    private static Encoded textFrame(FrameCodec codec, ServerFrame.Event e, String payload) {
        return new Encoded(codec.encodeEvent(e.with(ServerFrame.Event.Form.TEXT, TextNode.valueOf(payload)), payload),
                "event");
    }
}
