package dev.tandem.push.support;

import java.net.http.HttpHeaders;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Retry-After in both of its forms, and nonsense as if absent. */
class PushHttpTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T10:00:00Z"), ZoneOffset.UTC);

    @Test
    void retryAfterIsSecondsOrAnHttpDate() {
        assertEquals(Optional.of(Duration.ofSeconds(120)), PushHttp.retryAfter(headers("120"), CLOCK));
        assertEquals(Optional.of(Duration.ofSeconds(30)),
                PushHttp.retryAfter(headers("Sun, 22 Nov 2026 10:00:30 GMT"), CLOCK));
        assertEquals(Optional.of(Duration.ZERO), PushHttp.retryAfter(headers("Sun, 22 Nov 2026 09:00:00 GMT"), CLOCK));
        assertEquals(Optional.empty(), PushHttp.retryAfter(headers("soon"), CLOCK));
        assertEquals(Optional.empty(), PushHttp.retryAfter(headers("-5"), CLOCK));
        assertEquals(Optional.empty(), PushHttp.retryAfter(HttpHeaders.of(Map.of(), (a, b) -> true), CLOCK));
        assertEquals(true, PushHttp.retryAfter(headers("99999999999999999999"), CLOCK).orElseThrow().toDays() > 1000);
    }

    private static HttpHeaders headers(String retryAfter) {
        return HttpHeaders.of(Map.of("Retry-After", List.of(retryAfter)), (a, b) -> true);
    }
}
