package dev.tandem.client;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import dev.tandem.delta.DeltaException;
import dev.tandem.delta.Fossil;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;

/**
 * The client side of delta subscriptions ({@code delta: "fossil"}): turns the events of such a
 * subscription back into whole payloads, so the application never sees a delta.
 *
 * <p>Per channel it holds the last durable payload's text and position. A {@code delta: false}
 * event carries the whole text and replaces what is held; a {@code delta: true} event is applied
 * to what is held when it follows it directly (the next offset of the same epoch). A delta that
 * does not follow (a gap), has nothing to apply to, or fails its checksum breaks the chain: the
 * channel's events are dropped until it is subscribed again, from the last whole position, which
 * the owner does on {@link Outcome.Broken}. Thread-safe (events of one channel come in order).
 */
final class Deltas {
    private final FrameCodec codec;
    /** The delta format each channel was subscribed with, repeated on resubscribe. */
    private final ConcurrentMap<String, String> formats = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Held> held = new ConcurrentHashMap<>();
    private final Set<String> broken = ConcurrentHashMap.newKeySet();

    /** The last durable payload of a channel: its position and JSON text. */
    private record Held(Position position, byte[] text) {
    }

    /** What became of an event. */
    sealed interface Outcome {
        /** The event, its data the whole payload. */
        record Whole(ServerFrame.Event event) implements Outcome {
        }

        /** The chain just broke: resubscribe from the last whole position. */
        record Broken(String why) implements Outcome {
        }

        /** Dropped: the chain is broken and the resubscribe is under way. */
        record Dropped() implements Outcome {
        }
    }

    Deltas(FrameCodec codec) {
        this.codec = codec;
    }

    /** The delta format to ask for when (re)subscribing to the channel. */
    Optional<String> format(String channel) {
        return Optional.ofNullable(formats.get(channel));
    }

    /**
     * A subscribe for the channel was answered: remembers the format it asked for, and starts a
     * new chain (the first event after a subscribe is whole).
     */
    void subscribed(String channel, Optional<String> asked) {
        asked.ifPresentOrElse(f -> formats.put(channel, f), () -> formats.remove(channel));
        held.remove(channel);
        broken.remove(channel);
    }

    /** Forgets a channel (unsubscribed). */
    void forget(String channel) {
        formats.remove(channel);
        held.remove(channel);
        broken.remove(channel);
    }

    /** Resolves an event into one carrying the whole payload, or says the chain is broken. */
    Outcome resolve(ServerFrame.Event e) {
        if (e.form() == ServerFrame.Event.Form.PAYLOAD) {
            return new Outcome.Whole(e);
        }
        String channel = e.channel();
        if (broken.contains(channel)) {
            return new Outcome.Dropped();
        }
        byte[] text;
        if (e.form() == ServerFrame.Event.Form.TEXT) {
            text = e.data().textValue().getBytes(StandardCharsets.UTF_8);
        } else {
            Held base = held.get(channel);
            Position at = e.position().orElse(null);
            if (base == null || at == null || !at.epoch().equals(base.position().epoch())
                    || at.offset() != base.position().offset() + 1) {
                return broke(channel, "a delta at " + at + " does not follow "
                        + (base == null ? "a whole payload" : base.position().toString()));
            }
            try {
                text = Fossil.apply(base.text(), e.data().textValue().getBytes(StandardCharsets.UTF_8));
            } catch (DeltaException ex) {
                return broke(channel, ex.getMessage());
            }
        }
        try {
            ServerFrame.Event whole = e.with(ServerFrame.Event.Form.PAYLOAD, codec.parse(text));
            e.position().ifPresent(p -> held.put(channel, new Held(p, text)));
            return new Outcome.Whole(whole);
        } catch (ProtocolException ex) {
            return broke(channel, "the payload is not JSON: " + ex.getMessage());
        }
    }

    private Outcome broke(String channel, String why) {
        held.remove(channel);
        broken.add(channel);
        return new Outcome.Broken(why);
    }
}
