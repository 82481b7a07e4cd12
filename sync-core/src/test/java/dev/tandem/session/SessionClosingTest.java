package dev.tandem.session;

import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Closing a session: every subscription released, queued frames written before the disconnect,
 * the reason cut to fit a WebSocket close frame.
 */
class SessionClosingTest extends SessionFixture {
    @Test
    void closingReleasesEverySubscription() {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "tenant"));
        c.send(subscribe(2, "location:wh-1"));
        c.t.reply(1);
        c.t.reply(2);
        c.session.transportClosed(1001);
        assertEquals(0, h.hub.subscriberCount(h.key("acme", "tenant")));
        assertEquals(0, h.hub.subscriberCount(h.key("acme", "location:wh-1")));
        assertEquals(Session.State.CLOSED, c.session.state());
        Harness.await("the engine forgot the session", () -> h.engine.sessionCount() == 0);
        c.send(subscribe(3, "tenant"));
        assertEquals(0, c.session.subscriptionCount(), "a closed session accepts nothing");
    }

    @Test
    void closeWritesQueuedFramesBeforeTheDisconnect() {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "tenant"));
        c.t.reply(1);
        c.t.block();
        publishToTenant("acme", 1);
        publishToTenant("acme", 2);
        c.session.close(CloseCode.NORMAL, "bye");
        c.t.unblock();
        c.t.next(ServerFrame.Event.class);
        c.t.next(ServerFrame.Event.class);
        assertDisconnectThenClose(c, CloseCode.NORMAL);
        assertEquals("bye", c.t.closeReason());
    }

    @Test
    void closeReasonsAreCutToFitAWebSocketCloseFrame() {
        String reason = "\u00e9".repeat(200);
        String cut = Wire.closeReason(reason);
        assertTrue(cut.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 123);
        assertTrue(cut.endsWith("..."));
        assertEquals("short", Wire.closeReason("short"));

        harness();
        Client c = h.connected(ALICE);
        c.session.close(CloseCode.NORMAL, "x".repeat(500));
        assertEquals(1000, c.t.awaitClose()); // the transport checks the 123-byte limit
    }
}
