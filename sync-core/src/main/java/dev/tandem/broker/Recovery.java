package dev.tandem.broker;

import java.util.List;
import java.util.Objects;

import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;

/**
 * The outcome of subscribing: the channel's current position and, when the subscriber gave a
 * position to resume from, the publications it missed.
 *
 * @param top       the channel's newest position (offset 0 when nothing was published yet)
 * @param missed    the publications after the given position, in order (empty when none was
 *                  given or when it could not be recovered)
 * @param recovered true when a position was given and everything after it was replayed;
 *                  false when the position was too old or from another epoch, or none was given
 */
public record Recovery(Position top, List<Publication> missed, boolean recovered) {
    /** Validates and copies the fields. */
    public Recovery {
        Objects.requireNonNull(top, "top");
        missed = List.copyOf(missed);
    }
}
