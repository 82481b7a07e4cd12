package dev.tandem.session;

import java.time.Duration;

import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session whose peer reads slowly or not at all: the bounded outbound queue closes a slow
 * consumer (4009) without holding up the others, frames queued behind a busy socket leave in one
 * write, a peer that never reads again is dropped after the write timeout.
 */
class SessionBackpressureTest extends SessionFixture {
    @Test
    void aSlowConsumerIsClosedWith4009WhileOthersKeepReceivingEverything() throws Exception {
        harness(Harness.limits().outboundQueueMessages(8));
        Client slow = h.connected(ALICE);
        Client fast = h.connected(BOB);
        slow.send(subscribe(1, "tenant"));
        slow.t.reply(1);
        fast.send(subscribe(1, "tenant"));
        fast.t.reply(1);
        ChannelKey key = h.key("acme", "tenant");

        slow.t.block();
        publishToTenant("acme", 1);
        slow.t.awaitBlockedInSend(); // the writer holds event 1 and cannot get rid of it
        assertEquals(1, fast.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        int total = 31;
        for (int i = 2; i <= total; i++) {
            publishToTenant("acme", i);
            // the fast reader keeps up (its queue has the same small bound)
            assertEquals(i, fast.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        }
        assertEquals(Session.State.CLOSED, slow.session.state(), "the queue overflowed on the publisher's thread");
        assertEquals(1, h.hub.subscriberCount(key), "the slow subscriber is gone from the channel");
        assertEquals(Session.State.OPEN, fast.session.state());

        slow.t.unblock(); // the peer reads again: it gets what was on the wire, then the close
        assertEquals(1, slow.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        assertDisconnectThenClose(slow, CloseCode.SLOW_CONSUMER);
    }

    @Test
    void framesQueuedWhileTheSocketIsBusyGoOutTogetherInOneWriteAndInOrder() throws Exception {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "tenant"));
        c.t.reply(1);
        c.t.block();
        publishToTenant("acme", 1);
        c.t.awaitBlockedInSend(); // the writer is on the wire with event 1
        for (int i = 2; i <= 20; i++) {
            publishToTenant("acme", i);
        }
        c.t.unblock();
        for (int i = 1; i <= 20; i++) {
            assertEquals(i, c.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        }
        assertTrue(c.t.batchSizes().contains(19), "events 2-20 went out in one write: " + c.t.batchSizes());
    }

    @Test
    void aPeerThatNeverReadsAgainIsDroppedAfterTheWriteTimeout() throws Exception {
        harness(Harness.limits().outboundQueueMessages(4).writeTimeout(Duration.ofMillis(150)));
        Client dead = h.connected(ALICE);
        Client alive = h.connected(BOB);
        dead.send(subscribe(1, "tenant"));
        dead.t.reply(1);
        alive.send(subscribe(1, "tenant"));
        alive.t.reply(1);

        dead.t.block();
        publishToTenant("acme", 1);
        dead.t.awaitBlockedInSend();
        alive.t.next(ServerFrame.Event.class);
        for (int i = 2; i <= 10; i++) {
            publishToTenant("acme", i);
            assertEquals(i, alive.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        }
        assertEquals(Session.State.CLOSED, dead.session.state());
        dead.t.awaitInterrupted();
        Harness.await("the dead session is gone", () -> h.engine.sessionCount() == 1);
        assertFalse(dead.t.isClosed(), "no close handshake with a peer that does not read");
        assertEquals(1, h.hub.subscriberCount(h.key("acme", "tenant")));
    }

    @Test
    void aSubscribeThatOverflowsTheQueueLeavesNoSubscriberBehind() throws Exception {
        harness(Harness.limits().outboundQueueMessages(4).writeTimeout(Duration.ofMillis(150)));
        for (int i = 1; i <= 10; i++) {
            publishToTenant("acme", i);
        }
        ChannelKey key = h.key("acme", "tenant");
        String epoch = h.memory.top(key).epoch();
        Client c = h.connected(ALICE);
        c.t.block();
        c.send(new ClientFrame.Ping(1));
        c.t.awaitBlockedInSend();

        // the reply and ten missed events do not fit in a queue of four
        c.send(subscribe(2, "tenant", new Position(epoch, 0)));
        assertEquals(Session.State.CLOSED, c.session.state());
        assertEquals(0, c.session.subscriptionCount());
        assertEquals(0, h.hub.subscriberCount(key), "a closed session must not stay subscribed");
        c.t.unblock();
        assertEquals(CloseCode.SLOW_CONSUMER.code(), c.t.awaitClose());
    }
}
