package dev.tandem.session;

import java.time.Duration;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Liveness: the session pings at the heartbeat interval and closes a silent peer (4010), answers
 * the peer's pings within the rate limit, and counts inbound messages as signs of life.
 */
class SessionHeartbeatTest extends SessionFixture {
    @Test
    void pingsAtTheHeartbeatIntervalAndKeepsAPeerThatAnswers() {
        harness(Harness.limits().heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)));
        Client c = h.connected(ALICE);
        c.t.onPing(c.session::heard);
        // 8 pings take 320 ms, far more than the 100 ms a silent peer gets
        Harness.await("eight pings", () -> c.t.pings() >= 8);
        assertEquals(Session.State.OPEN, c.session.state());
        assertFalse(c.t.isClosed());
    }

    @Test
    void aSilentPeerIsClosedWith4010() {
        harness(Harness.limits().heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)));
        Client c = h.connected(ALICE);
        assertDisconnectThenClose(c, CloseCode.HEARTBEAT_TIMEOUT);
        assertTrue(c.t.pings() >= 1, "the peer was pinged before being given up");
        assertTrue(c.t.log().indexOf("ping") < c.t.log().indexOf("disconnect"));
    }

    @Test
    void answersThePeersPingsWithTheirPayload() {
        harness(Harness.limits());
        Client c = h.connected(ALICE);
        for (int i = 0; i < 5; i++) {
            c.session.pinged(new byte[] {(byte) i});
            int written = i + 1;
            Harness.await("pong " + i, () -> c.t.pongs().size() == written);
            assertEquals((byte) i, c.t.pongs().get(i)[0]);
        }
    }

    @Test
    void aPeerThatPingsButNeverAnswersOurPingsIsStillClosedWith4010() throws InterruptedException {
        harness(Harness.limits().heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)));
        Client c = h.connected(ALICE);
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until && !c.t.isClosed()) {
            c.session.pinged(new byte[] {1});
            Thread.sleep(10);
        }
        assertDisconnectThenClose(c, CloseCode.HEARTBEAT_TIMEOUT);
    }

    @Test
    void pingsCountAgainstTheRateLimitAndNeverQueueMoreThanOnePong() {
        harness(Harness.limits().rate(1, 2, 50));
        Client c = h.connected(ALICE);
        c.t.block();
        for (int i = 0; i < 1000; i++) {
            c.session.pinged(new byte[] {(byte) i});
        }
        c.t.unblock();
        c.send(new ClientFrame.Ping(1));
        c.t.error(0, ErrorCode.RATE_LIMITED);
        assertTrue(c.t.pongs().size() <= 2, "pongs written: " + c.t.pongs().size());
    }

    @Test
    void inboundMessagesCountAsSignsOfLife() throws InterruptedException {
        harness(Harness.limits().heartbeat(Duration.ofMillis(40), Duration.ofMillis(60)));
        Client c = h.connected(ALICE);
        long until = System.nanoTime() + Duration.ofMillis(300).toNanos();
        while (System.nanoTime() < until) {
            c.sync();
            Thread.sleep(20); // pace below the rate limit
        }
        assertEquals(Session.State.OPEN, c.session.state());
    }
}
