package dev.tandem.inbox;

import dev.tandem.conformance.InboxConformanceTest;
import java.time.Clock;
import java.time.Duration;

import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MemoryInboxTest extends InboxConformanceTest {
    @Override
    protected Inbox createInbox(Duration ttl, Clock clock) {
        return new MemoryInbox(ttl, clock);
    }

    private MemoryInbox memory() {
        return (MemoryInbox) inbox;
    }

    @Test
    void sweepForgetsInboxesWithNothingPendingAfterATtlWithoutAppends() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        ChannelKey alice = Inbox.channel(tenant, "alice");
        inbox.append(bob, message(bob, "e1", 1));
        inbox.append(alice, message(alice, "e1", 1));
        inbox.ack(tenant, "alice", 1);
        assertEquals(0, memory().sweep(), "alice's inbox is empty but was used within the TTL");

        clock.advance(TTL);
        assertEquals(2, memory().sweep());
        ProtocolException e = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "alice", 1));
        assertEquals(ErrorCode.NOT_FOUND, e.code(), "a forgotten inbox answers like an unknown one");
    }

    @Test
    void aFullInboxDropsItsOldestMessageAndNeverRefusesOne() {
        MemoryInbox small = new MemoryInbox(TTL, 3, clock);
        ChannelKey bob = Inbox.channel(tenant, "bob");
        for (int i = 1; i <= 5; i++) {
            small.append(bob, message(bob, "e1", i));
        }
        assertEquals(java.util.List.of(3L, 4L, 5L), small.pending(tenant, "bob").stream()
                .map(p -> p.position().orElseThrow().offset()).toList());
        assertEquals(2, small.dropped());
        assertEquals(3, small.ack(tenant, "bob", 5).acknowledged());
        assertThrows(IllegalArgumentException.class, () -> new MemoryInbox(TTL, 0, clock));
    }

    @Test
    void theDefaultsAreADayAndTheSystemClock() {
        assertEquals(Duration.ofHours(24), MemoryInbox.create().ttl());
        assertThrows(IllegalArgumentException.class, () -> new MemoryInbox(Duration.ZERO, Clock.systemUTC()));
    }
}
