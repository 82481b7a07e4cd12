package dev.tandem.hub;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

/**
 * Something published on a channel, as delivered to subscribers. Durable publications have a
 * {@link Position}; ephemeral ones do not.
 *
 * @param channel        the channel, scoped to its tenant
 * @param position       epoch and offset, for durable publications
 * @param type           the event type, e.g. {@code stock.updated}
 * @param eventId        a unique id (from the source event when there is one)
 * @param time           when it was accepted
 * @param from           the publishing user, for client publications
 * @param data           the payload
 * @param acceptedNanos  {@link System#nanoTime()} when accepted on this node, for latency
 *                       metrics (0 when it came from elsewhere)
 * @param eventIdGiven   whether the publisher gave {@code eventId} (a generated one is left out
 *                       of event frames: the position already names a durable publication)
 */
public record Publication(ChannelKey channel, Optional<Position> position, String type, String eventId,
                          Instant time, Optional<String> from, JsonNode data, long acceptedNanos,
                          boolean eventIdGiven) {
    /** Validates the fields. */
    public Publication {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(position, "position");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(data, "data");
    }

    /** A publication whose event id counts as given by its publisher. */
    public Publication(ChannelKey channel, Optional<Position> position, String type, String eventId, Instant time,
                       Optional<String> from, JsonNode data, long acceptedNanos) {
        this(channel, position, type, eventId, time, from, data, acceptedNanos, true);
    }

    /**
     * Type of the manual-conflict notices: durable publications on the author's {@code user:}
     * channel, delivered as {@code conflict} frames.
     */
    public static final String CONFLICT_TYPE = "tandem.conflict";

    /** Type prefix of presence changes ({@code tandem.presence.join}, {@code .leave}, {@code .state}). */
    public static final String PRESENCE_TYPE = "tandem.presence.";

    /**
     * The frame clients receive for it: an {@code event}, or a {@code presence} frame for the
     * presence changes the engine publishes (ephemeral publications of type
     * {@value #PRESENCE_TYPE}KIND, so they travel every broker to every node like any other).
     */
    public ServerFrame toFrame() {
        if (conflict()) {
            return new ServerFrame.Conflict(data.path("conflictId").asText(eventId), channel.name().toString(),
                    position.get(), data);
        }
        if (type.startsWith(PRESENCE_TYPE)) {
            return new ServerFrame.Presence(channel.name().toString(), type.substring(PRESENCE_TYPE.length()), data);
        }
        return new ServerFrame.Event(channel.name().toString(), position, type,
                eventIdGiven ? Optional.of(eventId) : Optional.empty(), time, from, data, ServerFrame.Event.Form.PAYLOAD);
    }

    /** The {@code op} of {@link #toFrame()}, without building the frame. */
    public String frameOp() {
        return conflict() ? "conflict" : type.startsWith(PRESENCE_TYPE) ? "presence" : "event";
    }

    private boolean conflict() {
        return type.equals(CONFLICT_TYPE) && position.isPresent();
    }
}
