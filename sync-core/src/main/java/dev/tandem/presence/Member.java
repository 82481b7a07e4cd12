package dev.tandem.presence;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One user present on a channel.
 *
 * @param user        the user id
 * @param connections how many live connections (tabs, devices) the user has on the channel
 * @param state       the user's small presence state (status, cursor, what is being edited), if set
 * @param lastSeen    the last join, heartbeat or state change of any of the user's connections
 */
public record Member(String user, int connections, Optional<JsonNode> state, Instant lastSeen) {
    /** Validates the fields. */
    public Member {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(lastSeen, "lastSeen");
        if (connections < 1) {
            throw new IllegalArgumentException("a member has at least one connection");
        }
    }
}
