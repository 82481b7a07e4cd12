package dev.tandem.conformance;

import dev.tandem.inbox.AckResult;
import dev.tandem.inbox.Inbox;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.testing.MutableClock;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The conformance suite of the {@link Inbox} port, run against the in-memory adapter here and
 * the Redis adapter of the queue module. Time comes from a clock the suite moves by hand, so
 * expiry is tested without waiting. Each test uses a tenant of its own.
 */
public abstract class InboxConformanceTest {
    /** The TTL the suite's inboxes are made with. */
    protected static final Duration TTL = Duration.ofMinutes(10);

    /** The suite's clock. */
    protected final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    /** Builds payloads. */
    protected final FrameCodec codec = FrameCodec.create();
    /** The inbox under test. */
    protected Inbox inbox;
    /** A tenant of this test's own. */
    protected String tenant;

    /** Creates the adapter under test with {@code ttl}, reading time from {@code clock}. */
    protected abstract Inbox createInbox(Duration ttl, Clock clock);

    /**
     * Another node's view of the same inbox store (default: the same instance, as standalone
     * mode has a single node).
     */
    protected Inbox otherNode(Inbox inbox) {
        return inbox;
    }

    @BeforeEach
    void setUpInbox() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        tenant = "t-" + HexFormat.of().formatHex(b);
        inbox = createInbox(TTL, clock);
    }

    @AfterEach
    void tearDownInbox() {
        inbox.close();
    }

    @Test
    void pendingListsAppendedMessagesInOrderWithTheirContent() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        Publication first = new Publication(bob, Optional.of(new Position("e1", 1)), "invoice.paid", "ev-1",
                clock.instant(), Optional.of("erp"), codec.object().put("invoice", "I-7"), 0);
        inbox.append(bob, first);
        inbox.append(bob, message(bob, "e1", 2));
        List<Publication> pending = inbox.pending(tenant, "bob");
        assertEquals(List.of(1L, 2L), offsets(pending));
        Publication got = pending.getFirst();
        assertEquals(bob, got.channel());
        assertEquals(first.position(), got.position());
        assertEquals("invoice.paid", got.type());
        assertEquals("ev-1", got.eventId());
        assertEquals(first.time(), got.time());
        assertEquals(Optional.of("erp"), got.from());
        assertEquals(first.data(), got.data());
        assertEquals(2, inbox.depth(tenant, "bob"));
    }

    @Test
    void anEmptyInboxHasNothingPending() {
        assertEquals(List.of(), inbox.pending(tenant, "nobody"));
        assertEquals(0, inbox.depth(tenant, "nobody"));
    }

    @Test
    void ackRemovesEverythingUpToTheOffsetAndIsIdempotent() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        for (int i = 1; i <= 5; i++) {
            inbox.append(bob, message(bob, "e1", i));
        }
        assertEquals(new AckResult(3, 2), inbox.ack(tenant, "bob", 3));
        assertEquals(List.of(4L, 5L), offsets(inbox.pending(tenant, "bob")));
        assertEquals(new AckResult(0, 2), inbox.ack(tenant, "bob", 3), "acknowledging again changes nothing");
        assertEquals(new AckResult(0, 2), inbox.ack(tenant, "bob", 1));
        assertEquals(new AckResult(2, 0), inbox.ack(tenant, "bob", 5));
        assertEquals(List.of(), inbox.pending(tenant, "bob"));
        assertEquals(0, inbox.depth(tenant, "bob"));
    }

    @Test
    void acknowledgedMessagesAreNeverPendingAgainOnAnyNode() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        inbox.append(bob, message(bob, "e1", 2));
        Inbox other = otherNode(inbox);
        assertEquals(List.of(1L, 2L), offsets(other.pending(tenant, "bob")), "another device, another node");
        other.ack(tenant, "bob", 1);
        assertEquals(List.of(2L), offsets(inbox.pending(tenant, "bob")));
        inbox.append(bob, message(bob, "e1", 3));
        assertEquals(List.of(2L, 3L), offsets(other.pending(tenant, "bob")));
    }

    @Test
    void anAckAheadOfTheInboxIsRefusedAndChangesNothing() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        inbox.append(bob, message(bob, "e1", 2));
        ProtocolException ahead = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "bob", 3));
        assertEquals(ErrorCode.NOT_FOUND, ahead.code());
        ProtocolException zero = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "bob", 0));
        assertEquals(ErrorCode.BAD_REQUEST, zero.code());
        ProtocolException negative = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "bob", -4));
        assertEquals(ErrorCode.BAD_REQUEST, negative.code());
        assertEquals(List.of(1L, 2L), offsets(inbox.pending(tenant, "bob")), "nothing changed");
    }

    @Test
    void anAckForAUserWithoutMessagesIsRefused() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "carol", 1));
        assertEquals(ErrorCode.NOT_FOUND, e.code());
        assertEquals(0, inbox.depth(tenant, "carol"));
    }

    @Test
    void messagesExpireAfterTheTtl() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        clock.advance(TTL.dividedBy(2));
        inbox.append(bob, message(bob, "e1", 2));
        clock.advance(TTL.dividedBy(2).minusSeconds(1));
        assertEquals(List.of(1L, 2L), offsets(inbox.pending(tenant, "bob")), "both still within the TTL");
        clock.advance(Duration.ofSeconds(1));
        assertEquals(List.of(2L), offsets(inbox.pending(tenant, "bob")), "the first is exactly a TTL old");
        assertEquals(1, inbox.depth(tenant, "bob"));
        clock.advance(TTL);
        assertEquals(List.of(), inbox.pending(tenant, "bob"));
        assertEquals(0, inbox.depth(tenant, "bob"));
    }

    @Test
    void appendingTheSamePositionTwiceKeepsOneCopy() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        inbox.append(bob, message(bob, "e1", 2));
        inbox.append(bob, message(bob, "e1", 2));
        inbox.append(bob, message(bob, "e1", 1));
        assertEquals(List.of(1L, 2L), offsets(inbox.pending(tenant, "bob")));
    }

    @Test
    void aNewEpochKeepsOlderMessagesAheadAndAnAckInItCoversThem() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        inbox.append(bob, message(bob, "e1", 7));
        inbox.append(bob, message(bob, "e1", 8));
        inbox.append(bob, message(bob, "e2", 1)); // the channel's history was lost and started over
        inbox.append(bob, message(bob, "e2", 2));
        assertEquals(List.of("e1:7", "e1:8", "e2:1", "e2:2"), inbox.pending(tenant, "bob").stream()
                .map(p -> p.position().orElseThrow().epoch() + ":" + p.position().get().offset()).toList());
        ProtocolException e = assertThrows(ProtocolException.class, () -> inbox.ack(tenant, "bob", 8));
        assertEquals(ErrorCode.NOT_FOUND, e.code(), "offsets are those of the current epoch");
        assertEquals(new AckResult(3, 1), inbox.ack(tenant, "bob", 1));
        assertEquals(List.of(2L), offsets(inbox.pending(tenant, "bob")));
    }

    @Test
    void theEpochIsThatOfTheNewestMessage() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        assertEquals(java.util.Optional.empty(), inbox.epoch(tenant, "bob"));
        inbox.append(bob, message(bob, "e1", 1));
        assertEquals(java.util.Optional.of("e1"), inbox.epoch(tenant, "bob"));
        inbox.append(bob, message(bob, "e2", 1));
        assertEquals(java.util.Optional.of("e2"), inbox.epoch(tenant, "bob"));
        assertEquals(java.util.Optional.empty(), inbox.epoch(tenant, "alice"));
    }

    @Test
    void tenantsAndUsersAreIsolated() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        ChannelKey alice = Inbox.channel(tenant, "alice");
        String otherTenant = tenant + "-x";
        ChannelKey otherBob = Inbox.channel(otherTenant, "bob");
        inbox.append(bob, message(bob, "e1", 1));
        inbox.append(alice, message(alice, "e1", 1));
        inbox.append(alice, message(alice, "e1", 2));
        inbox.append(otherBob, message(otherBob, "e1", 1));
        inbox.append(otherBob, message(otherBob, "e1", 2));
        inbox.append(otherBob, message(otherBob, "e1", 3));

        inbox.ack(tenant, "alice", 2);
        assertEquals(List.of(1L), offsets(inbox.pending(tenant, "bob")));
        assertEquals(List.of(), inbox.pending(tenant, "alice"));
        assertEquals(3, inbox.depth(otherTenant, "bob"));
        assertEquals(List.of(bob), inbox.pending(tenant, "bob").stream().map(Publication::channel).toList());
    }

    @Test
    void onlyDurablePublicationsOfUserChannelsAreAccepted() {
        ChannelKey bob = Inbox.channel(tenant, "bob");
        ChannelKey location = new ChannelKey(tenant, dev.tandem.channel.ChannelName.parse("location:wh-1").orElseThrow());
        assertThrows(IllegalArgumentException.class, () -> inbox.append(location, message(location, "e1", 1)));
        Publication ephemeral = new Publication(bob, Optional.empty(), "typing", "ev", clock.instant(),
                Optional.empty(), codec.object(), 0);
        assertThrows(IllegalArgumentException.class, () -> inbox.append(bob, ephemeral));
        ChannelKey alice = Inbox.channel(tenant, "alice");
        assertThrows(IllegalArgumentException.class, () -> inbox.append(alice, message(bob, "e1", 1)));
        assertEquals(0, inbox.depth(tenant, "bob"));
        assertEquals(0, inbox.depth(tenant, "alice"));
    }

    @Test
    void reportsItsTtl() {
        assertEquals(TTL, inbox.ttl());
    }

    // ------------------------------------------------------------------ helpers

    /** A durable publication on {@code channel} at {@code (epoch, offset)}. */
    protected Publication message(ChannelKey channel, String epoch, long offset) {
        return new Publication(channel, Optional.of(new Position(epoch, offset)), "note", "ev-" + epoch + "-" + offset,
                clock.instant(), Optional.empty(), codec.object().put("n", offset), 0);
    }

    /** The offsets of publications, in order. */
    protected static List<Long> offsets(List<Publication> publications) {
        return publications.stream().map(p -> p.position().orElseThrow().offset()).toList();
    }

}
