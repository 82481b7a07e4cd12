package dev.tandem.conformance;

import dev.tandem.presence.Member;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.testing.MutableClock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite of the {@link PresenceStore} port, run against the in-memory adapter
 * here and the Redis adapter of the presence module. Time comes from a clock the suite moves by
 * hand, so expiry is tested without waiting. Each test uses a tenant of its own.
 */
public abstract class PresenceConformanceTest {
    /** The TTL of the suite's stores. */
    protected static final Duration TTL = Duration.ofSeconds(30);
    /** The state limit of the suite's stores. */
    protected static final int MAX_STATE = 64;

    /** The suite's clock. */
    protected final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    /** Builds states. */
    protected final FrameCodec codec = FrameCodec.create();
    /** The store under test. */
    protected PresenceStore store;
    /** A tenant of this test's own. */
    protected String tenant;

    /** Creates the adapter under test. */
    protected abstract PresenceStore createStore(PresenceLimits limits, Clock clock);

    /** Another node's view of the same store (default: the same instance). */
    protected PresenceStore otherNode(PresenceStore store) {
        return store;
    }

    @BeforeEach
    void setUpStore() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        tenant = "t-" + HexFormat.of().formatHex(b);
        store = createStore(new PresenceLimits(TTL, MAX_STATE), clock);
    }

    @AfterEach
    void tearDownStore() {
        store.close();
    }

    @Test
    void twoTabsAreOneUserWithTwoConnectionsThatJoinsOnceAndLeavesOnce() {
        ChannelKey doc = key("doc:note:n1");
        assertTrue(store.join(doc, "alice", "tab-1", Optional.empty()), "first tab: join event");
        assertFalse(store.join(doc, "alice", "tab-2", Optional.empty()), "second tab: no join event");
        List<Member> members = store.members(doc);
        assertEquals(1, members.size());
        assertEquals("alice", members.getFirst().user());
        assertEquals(2, members.getFirst().connections());

        assertFalse(store.leave(doc, "alice", "tab-1"), "one tab left: no leave event");
        assertEquals(1, store.members(doc).getFirst().connections());
        assertTrue(store.leave(doc, "alice", "tab-2"), "last tab: leave event");
        assertEquals(List.of(), store.members(doc));
    }

    @Test
    void joiningAgainWithTheSameConnectionIsNotASecondJoin() {
        ChannelKey doc = key("doc:note:n1");
        assertTrue(store.join(doc, "alice", "c1", Optional.empty()));
        assertFalse(store.join(doc, "alice", "c1", Optional.empty()));
        assertEquals(1, store.members(doc).getFirst().connections());
        assertTrue(store.leave(doc, "alice", "c1"));
    }

    @Test
    void leavingAConnectionThatIsNotPresentIsNotALeave() {
        ChannelKey doc = key("doc:note:n1");
        assertFalse(store.leave(doc, "alice", "never"));
        store.join(doc, "alice", "c1", Optional.empty());
        assertFalse(store.leave(doc, "alice", "other"));
        assertFalse(store.leave(doc, "bob", "c1"), "a connection id belongs to its user");
        assertEquals(1, store.members(doc).size());
        assertTrue(store.leave(doc, "alice", "c1"));
        assertFalse(store.leave(doc, "alice", "c1"), "leaving twice reports once");
    }

    @Test
    void membersCarryStateConnectionsAndLastSeenOrderedByUser() {
        ChannelKey ws = key("workspace:w1");
        ObjectNode editing = codec.object().put("status", "editing").put("doc", "A-1");
        store.join(ws, "bob", "b1", Optional.of(editing));
        clock.advance(Duration.ofSeconds(5));
        store.join(ws, "alice", "a1", Optional.empty());
        List<Member> members = store.members(ws);
        assertEquals(List.of("alice", "bob"), members.stream().map(Member::user).toList());
        Member alice = members.get(0);
        Member bob = members.get(1);
        assertEquals(Optional.empty(), alice.state());
        assertEquals(Optional.of(editing), bob.state());
        assertEquals(clock.instant(), alice.lastSeen());
        assertEquals(clock.instant().minusSeconds(5), bob.lastSeen());
        assertEquals(1, bob.connections());
    }

    @Test
    void setStateReplacesTheUsersStateForAllItsTabs() {
        ChannelKey ws = key("workspace:w1");
        store.join(ws, "alice", "a1", Optional.of(codec.object().put("status", "online")));
        store.join(ws, "alice", "a2", Optional.empty());
        assertEquals(Optional.of(codec.object().put("status", "online")), store.members(ws).getFirst().state(),
                "joining without state keeps the user's state");
        clock.advance(Duration.ofSeconds(3));
        Member after = store.setState(ws, "alice", "a2", codec.object().put("status", "away"));
        assertEquals(Optional.of(codec.object().put("status", "away")), after.state());
        assertEquals(2, after.connections());
        assertEquals(clock.instant(), after.lastSeen());
        assertEquals(after, store.members(ws).getFirst());
    }

    @Test
    void anOversizeStateIsRefusedAndChangesNothing() {
        ChannelKey ws = key("workspace:w1");
        ObjectNode small = codec.object().put("status", "online");
        ObjectNode large = codec.object().put("status", "x".repeat(MAX_STATE));
        store.join(ws, "alice", "a1", Optional.of(small));

        ProtocolException onSet = assertThrows(ProtocolException.class, () -> store.setState(ws, "alice", "a1", large));
        assertEquals(ErrorCode.TOO_LARGE, onSet.code());
        ProtocolException onJoin = assertThrows(ProtocolException.class,
                () -> store.join(ws, "alice", "a2", Optional.of(large)));
        assertEquals(ErrorCode.TOO_LARGE, onJoin.code());
        ProtocolException newUser = assertThrows(ProtocolException.class,
                () -> store.join(ws, "bob", "b1", Optional.of(large)));
        assertEquals(ErrorCode.TOO_LARGE, newUser.code());

        List<Member> members = store.members(ws);
        assertEquals(1, members.size(), "bob did not join");
        assertEquals(Optional.of(small), members.getFirst().state(), "the state is unchanged");
        assertEquals(1, members.getFirst().connections(), "the refused tab did not join");
    }

    @Test
    void aStateExactlyAtTheLimitIsAccepted() {
        ChannelKey ws = key("workspace:w1");
        String padding = "x".repeat(MAX_STATE - "{\"s\":\"\"}".length());
        ObjectNode exact = codec.object().put("s", padding);
        assertEquals(MAX_STATE, codec.write(exact).length());
        assertTrue(store.join(ws, "alice", "a1", Optional.of(exact)));
        assertEquals(Optional.of(exact), store.members(ws).getFirst().state());
    }

    @Test
    void settingStateThroughAConnectionThatIsNotPresentIsNotFound() {
        ChannelKey ws = key("workspace:w1");
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> store.setState(ws, "alice", "a1", codec.object().put("status", "online")));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals(List.of(), store.members(ws));
    }

    @Test
    void connectionsWithoutHeartbeatsDisappearAfterTheTtlAndAreReportedOnce() {
        ChannelKey doc = key("doc:note:n1");
        store.join(doc, "alice", "a1", Optional.empty());
        store.join(doc, "bob", "b1", Optional.empty());
        clock.advance(TTL.minusSeconds(1));
        assertEquals(2, store.members(doc).size(), "still within the TTL");
        assertEquals(List.of(), store.expire(doc));

        clock.advance(Duration.ofSeconds(1)); // the node holding both connections died a TTL ago
        assertEquals(List.of(), store.members(doc), "gone by themselves");
        assertEquals(List.of("alice", "bob"), otherNode(store).expire(doc), "reported for leave events");
        assertEquals(List.of(), store.expire(doc), "and only once");
        assertFalse(store.leave(doc, "alice", "a1"), "no second leave for an expired connection");
    }

    @Test
    void heartbeatsKeepAConnectionPresent() {
        ChannelKey doc = key("doc:note:n1");
        store.join(doc, "alice", "a1", Optional.empty());
        for (int i = 0; i < 5; i++) {
            clock.advance(TTL.minusSeconds(1));
            assertTrue(store.heartbeat(doc, "alice", "a1"));
        }
        clock.advance(TTL.minusSeconds(1));
        List<Member> members = store.members(doc);
        assertEquals(1, members.size());
        assertEquals(clock.instant().minus(TTL.minusSeconds(1)), members.getFirst().lastSeen());
        assertEquals(List.of(), store.expire(doc));
    }

    @Test
    void aHeartbeatAfterExpiryAsksForANewJoin() {
        ChannelKey doc = key("doc:note:n1");
        store.join(doc, "alice", "a1", Optional.empty());
        clock.advance(TTL);
        assertFalse(store.heartbeat(doc, "alice", "a1"));
        assertFalse(store.heartbeat(doc, "alice", "unknown"));
        assertEquals(List.of(), store.members(doc), "a late heartbeat does not revive the connection");
        assertTrue(store.join(doc, "alice", "a1", Optional.empty()), "rejoining is a join again");
        assertEquals(1, store.members(doc).getFirst().connections());
    }

    @Test
    void aUserWithOneExpiredAndOneLiveTabStaysPresent() {
        ChannelKey doc = key("doc:note:n1");
        store.join(doc, "alice", "crashed", Optional.empty());
        store.join(doc, "alice", "alive", Optional.empty());
        clock.advance(TTL.dividedBy(2));
        store.heartbeat(doc, "alice", "alive");
        clock.advance(TTL.dividedBy(2));
        List<Member> members = store.members(doc);
        assertEquals(1, members.size());
        assertEquals(1, members.getFirst().connections());
        assertEquals(List.of(), store.expire(doc), "alice still has a live tab");
        assertTrue(store.leave(doc, "alice", "alive"), "closing the live tab is the leave");
        assertEquals(List.of(), store.expire(doc));
    }

    @Test
    void channelsAndTenantsAreIsolated() {
        ChannelKey one = key("doc:note:n1");
        ChannelKey two = key("doc:note:n2");
        ChannelKey otherTenant = new ChannelKey(tenant + "-x", one.name());
        store.join(one, "alice", "a1", Optional.empty());
        assertTrue(store.join(two, "alice", "a1", Optional.empty()), "presence is per channel");
        assertTrue(store.join(otherTenant, "alice", "a1", Optional.empty()), "and per tenant");
        store.join(otherTenant, "bob", "b1", Optional.empty());
        assertTrue(store.leave(one, "alice", "a1"));
        assertEquals(List.of(), store.members(one));
        assertEquals(List.of("alice"), store.members(two).stream().map(Member::user).toList());
        assertEquals(List.of("alice", "bob"), store.members(otherTenant).stream().map(Member::user).toList());
    }

    @Test
    void everyNodeSeesTheSamePresence() {
        ChannelKey doc = key("doc:note:n1");
        PresenceStore other = otherNode(store);
        assertTrue(store.join(doc, "alice", "a1", Optional.of(codec.object().put("status", "online"))));
        assertFalse(other.join(doc, "alice", "a2", Optional.empty()), "a tab on another node is not a join");
        assertEquals(store.members(doc), other.members(doc));
        assertEquals(2, other.members(doc).getFirst().connections());
        assertFalse(store.leave(doc, "alice", "a1"));
        assertTrue(other.leave(doc, "alice", "a2"));
    }

    @Test
    void reportsItsLimits() {
        assertEquals(new PresenceLimits(TTL, MAX_STATE), store.limits());
    }

    // ------------------------------------------------------------------ helpers

    /** The channel {@code name} in this test's tenant. */
    protected ChannelKey key(String name) {
        return new ChannelKey(tenant, ChannelName.parse(name).orElseThrow());
    }

}
