package dev.tandem.session;

import java.util.List;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limits on what a peer sends: the message rate and its flood close (4008), the frame size
 * in UTF-8 bytes (1009), and messages the transport could not read counted like any other.
 */
class SessionInboundLimitsTest extends SessionFixture {
    @Test
    void aFloodWithoutIdsGetsOneRateLimitedErrorThenACloseWith4008() {
        harness(Harness.limits().rate(1, 3, 5));
        Client c = h.connected(ALICE); // the upgrade token costs no message
        for (int i = 1; i <= 3; i++) {
            c.send(new ClientFrame.Ping(i));
        }
        for (int i = 4; i <= 8; i++) {
            c.send(new ClientFrame.Ping(0));
        }
        c.t.reply(1);
        c.t.reply(2);
        c.t.reply(3);
        ServerFrame.Error limited = c.t.error(0, ErrorCode.RATE_LIMITED);
        assertTrue(limited.message().contains("1"), limited.message());
        assertDisconnectThenClose(c, CloseCode.FLOOD);
        assertEquals(List.of("welcome", "reply", "reply", "reply", "error", "disconnect", "close:4008"), c.t.log());
    }

    @Test
    void everyRefusedFrameWithAnIdGetsItsOwnRateLimitedError() {
        harness(Harness.limits().rate(1, 3, 5));
        Client c = h.connected(ALICE);
        for (int i = 1; i <= 8; i++) {
            c.send("{\"op\":\"ping\",\"data\":{\"id\":99},\"id\":" + i + "}");
        }
        c.t.reply(1);
        c.t.reply(2);
        c.t.reply(3);
        for (int i = 4; i <= 8; i++) {
            c.t.error(i, ErrorCode.RATE_LIMITED);
        }
        assertDisconnectThenClose(c, CloseCode.FLOOD);
    }

    @Test
    void anAcceptedMessageEndsAFlood() throws InterruptedException {
        harness(Harness.limits().rate(1, 2, 3));
        Client c = h.connected(ALICE);
        c.send(new ClientFrame.Ping(1));
        c.send(new ClientFrame.Ping(2)); // 1 and 2 use the burst
        c.send(new ClientFrame.Ping(0));
        c.send(new ClientFrame.Ping(0)); // two strikes, one error
        c.t.reply(1);
        c.t.reply(2);
        c.t.error(0, ErrorCode.RATE_LIMITED);
        Thread.sleep(1100); // precondition, not an assertion: the bucket earns a token
        c.send(new ClientFrame.Ping(5));
        c.t.reply(5);
        // no token left: both are refused; without the reset the strikes would close the connection
        c.send(new ClientFrame.Ping(0));
        c.send(new ClientFrame.Ping(0));
        assertEquals(Session.State.OPEN, c.session.state(), "strikes from before the accepted message counted");
        ServerFrame.Error e = c.t.next(ServerFrame.Error.class);
        assertEquals(ErrorCode.RATE_LIMITED, e.code(), "a new flood is announced again");
    }

    @Test
    void aMessageOfExactlyTheMaximumSizeIsAccepted() {
        harness(Harness.limits().maxFrameBytes(1024));
        Client c = h.connected(ALICE);
        String head = "{\"op\":\"ping\",\"id\":7,\"pad\":\"";
        String tail = "\"}";
        String text = head + "x".repeat(1024 - head.length() - tail.length()) + tail;
        assertEquals(1024, text.length());
        c.send(text);
        c.t.reply(7);
    }

    @Test
    void anOversizeMessageClosesWith1009() {
        harness(Harness.limits().maxFrameBytes(1024));
        Client c = h.connected(ALICE);
        c.send("{\"op\":\"ping\",\"id\":7,\"pad\":\"" + "x".repeat(1000) + "\"}");
        assertDisconnectThenClose(c, CloseCode.TOO_LARGE);
    }

    @Test
    void theSizeLimitCountsUtf8BytesNotCharacters() {
        harness(Harness.limits().maxFrameBytes(1024));
        Client fits = h.connected(ALICE);
        fits.send("{\"op\":\"ping\",\"id\":1,\"pad\":\"" + "\u00e9".repeat(480) + "\"}"); // ~990 bytes
        fits.t.reply(1);

        Client tooBig = h.connected(ALICE);
        String text = "{\"op\":\"ping\",\"id\":1,\"pad\":\"" + "\u20ac".repeat(400) + "\"}"; // 1200+ bytes
        assertTrue(text.length() < 1024);
        tooBig.send(text);
        assertDisconnectThenClose(tooBig, CloseCode.TOO_LARGE);
    }

    @Test
    void aMessageTheTransportCannotReadIsRefusedAndCountsAgainstTheRate() {
        harness(Harness.limits().rate(1, 2, 50));
        Client c = h.connected(ALICE);
        c.session.refuse(ErrorCode.BAD_REQUEST, "binary frames are not part of tandem.v1", 0);
        ServerFrame.Error e = c.t.error(0, ErrorCode.BAD_REQUEST);
        assertTrue(e.message().contains("binary"), e.message());
        c.session.refuse(ErrorCode.BAD_REQUEST, "binary frames are not part of tandem.v1", 0);
        c.t.error(0, ErrorCode.BAD_REQUEST);
        c.send(new ClientFrame.Ping(1)); // the burst of two is spent
        c.t.error(1, ErrorCode.RATE_LIMITED);
        assertEquals(Session.State.OPEN, c.session.state());
    }
}
