package dev.tandem.session;

import java.time.Duration;
import java.util.Map;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionLimitsTest {
    private static Config config(Map<String, String> entries) {
        return Config.just(ConfigSources.create(entries));
    }

    @Test
    void anEmptyNodeGivesTheDefaults() {
        assertEquals(SessionLimits.DEFAULTS, SessionLimits.create(config(Map.of("other", "1"))));
    }

    @Test
    void readsEveryKey() {
        SessionLimits l = SessionLimits.create(config(Map.ofEntries(
                Map.entry("max-frame-bytes", "1000"),
                Map.entry("messages-per-second", "5"),
                Map.entry("burst", "6"),
                Map.entry("flood-strikes", "7"),
                Map.entry("max-subscriptions", "8"),
                Map.entry("outbound-queue-messages", "9"),
                Map.entry("outbound-queue-bytes", "10"),
                Map.entry("auth-timeout", "PT1S"),
                Map.entry("heartbeat-interval", "PT2S"),
                Map.entry("heartbeat-timeout", "PT3S"),
                Map.entry("write-timeout", "PT4S"),
                Map.entry("ephemeral-per-second", "11"))));
        assertEquals(new SessionLimits(1000, 5, 6, 7, 8, 9, 10, Duration.ofSeconds(1), Duration.ofSeconds(2),
                Duration.ofSeconds(3), Duration.ofSeconds(4), 11), l);
    }

    @Test
    void refusesNonPositiveLimitsNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SessionLimits.create(config(Map.of("burst", "0"))));
        assertTrue(e.getMessage().contains("tandem.limits.burst"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SessionLimits.create(config(Map.of("heartbeat-timeout", "PT0S"))));
        assertTrue(e.getMessage().contains("tandem.limits.heartbeat-timeout"), e.getMessage());
    }
}
