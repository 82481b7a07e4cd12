package dev.tandem.presence;

import dev.tandem.conformance.PresenceConformanceTest;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import dev.tandem.channel.ChannelKey;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class MemoryPresenceStoreTest extends PresenceConformanceTest {
    @Override
    protected PresenceStore createStore(PresenceLimits limits, Clock clock) {
        return new MemoryPresenceStore(limits, clock);
    }

    @Test
    void channelsWithoutUsersAreForgotten() {
        MemoryPresenceStore memory = (MemoryPresenceStore) store;
        ChannelKey doc = key("doc:note:n1");
        store.join(doc, "alice", "a1", Optional.empty());
        store.heartbeat(key("doc:note:elsewhere"), "alice", "a1");
        store.leave(key("doc:note:nowhere"), "alice", "a1");
        assertEquals(1, memory.channelCount(), "lookups leave nothing behind");
        store.leave(doc, "alice", "a1");
        assertEquals(0, memory.channelCount());

        store.join(doc, "bob", "b1", Optional.empty());
        clock.advance(TTL);
        store.expire(doc);
        assertEquals(0, memory.channelCount());
    }

    @Test
    void limitsHaveSaneDefaultsAndRefuseNonsense() {
        assertEquals(PresenceLimits.defaults(), MemoryPresenceStore.create().limits());
        assertThrows(IllegalArgumentException.class, () -> new PresenceLimits(Duration.ZERO, 100));
        assertThrows(IllegalArgumentException.class, () -> new PresenceLimits(Duration.ofSeconds(1), 0));
    }
}
