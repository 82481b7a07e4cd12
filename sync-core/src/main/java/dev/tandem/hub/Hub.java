package dev.tandem.hub;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.telemetry.Telemetry;

/**
 * The local subscription registry of a node: which subscribers want which channel, and the
 * fan-out of a publication to them.
 *
 * <p>Lookups are one map access per publication (never a scan over connections), and each
 * publication is encoded once, to text and UTF-8 bytes, and the same {@link Encoded} frame handed
 * to every subscriber. Thread-safe.
 */
public final class Hub {
    private final Map<ChannelKey, Set<Subscriber>> channels = new ConcurrentHashMap<>();
    private final FrameCodec codec;
    private final Telemetry telemetry;

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
        channels.computeIfPresent(channel, (k, set) -> {
            if (set.remove(subscriber) && set.isEmpty()) {
                last[0] = true;
                return null;
            }
            return set;
        });
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

    /** Encodes a publication's frame (the same text every subscriber gets). */
    public String encode(Publication publication) {
        return codec.encode(publication.toFrame());
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
        Encoded frame = new Encoded(encode(publication), publication.frameOp());
        int n = 0;
        for (Subscriber s : subscribers) {
            s.deliver(publication, frame);
            n++;
        }
        telemetry.fannedOut(n);
        return n;
    }
}
