package dev.tandem.session;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static dev.tandem.session.FakeVerifier.expiring;
import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a connection authenticates and keeps its token: the connect frame or the upgrade's token,
 * the auth timeout, expired and far-off expiries, expiry while open and refresh.
 */
class SessionAuthenticationTest extends SessionFixture {
    @Test
    void welcomesAfterAConnectFrameAndRepliesToItsId() {
        harness();
        Client c = h.open();
        assertEquals(Session.State.AWAITING_AUTH, c.session.state());
        c.send(new ClientFrame.Connect(1, ALICE));

        ServerFrame.Welcome w = c.t.next(ServerFrame.Welcome.class);
        assertEquals(c.session.id(), w.session());
        assertEquals("node-test", w.node());
        assertEquals("alice", w.user());
        assertEquals("acme", w.tenant());
        assertEquals(SessionLimits.DEFAULTS.heartbeatInterval().toMillis(), w.heartbeatMs());
        assertEquals(Optional.empty(), w.expiresAt());
        SessionLimits d = SessionLimits.DEFAULTS;
        assertEquals(new ServerFrame.Limits(d.maxFrameBytes(), d.messagesPerSecond(), d.burst(), d.maxSubscriptions()),
                w.limits());
        assertEquals(c.session.id(), c.t.reply(1).body().get("session").asText());
        assertEquals(Session.State.OPEN, c.session.state());
        assertEquals("alice", c.session.principal().orElseThrow().user());
    }

    @Test
    void welcomesAtOnceWhenTheUpgradeCarriedAToken() {
        harness();
        Client c = h.open(Optional.of(ALICE));
        assertEquals("alice", c.t.next(ServerFrame.Welcome.class).user());
        assertEquals(List.of(), c.sync(), "no reply without a connect frame");
        assertEquals(Session.State.OPEN, c.session.state());
    }

    @Test
    void refusesFramesBeforeConnectAsUnauthorizedAndKeepsTheSocketOpen() {
        harness();
        Client c = h.open();
        c.send(subscribe(3, "tenant"));
        c.t.error(3, ErrorCode.UNAUTHORIZED);
        c.send(new ClientFrame.Ping(4));
        c.t.error(4, ErrorCode.UNAUTHORIZED);
        c.send("{\"op\":\"publish\",\"channel\":\"tenant\",\"type\":\"x\",\"data\":{}}");
        c.t.error(0, ErrorCode.UNAUTHORIZED);
        assertEquals(Session.State.AWAITING_AUTH, c.session.state());
        assertEquals(0, c.session.subscriptionCount());

        c.send(new ClientFrame.Connect(5, ALICE));
        c.t.next(ServerFrame.Welcome.class);
        c.t.reply(5);
        assertFalse(c.t.isClosed());
    }

    @Test
    void aBadTokenGetsAnErrorThenACloseWith4001() {
        harness();
        Client c = h.open();
        c.send(new ClientFrame.Connect(1, "bad"));
        c.t.error(1, ErrorCode.UNAUTHORIZED);
        assertDisconnectThenClose(c, CloseCode.UNAUTHORIZED);
        assertEquals(Optional.empty(), c.session.principal());
        Harness.await("the session is gone", () -> h.engine.sessionCount() == 0);
    }

    @Test
    void aBadUpgradeTokenGetsAnErrorThenACloseWith4001() {
        harness();
        Client c = h.open(Optional.of("bad"));
        c.t.error(0, ErrorCode.UNAUTHORIZED);
        assertDisconnectThenClose(c, CloseCode.UNAUTHORIZED);
    }

    @Test
    void aTokenExpiredAtConnectClosesWith4003SoTheClientFetchesANewOne() {
        harness();
        Client c = h.open();
        c.send(new ClientFrame.Connect(1, expiring("alice", "acme", Instant.now().minusSeconds(1))));
        c.t.error(1, ErrorCode.UNAUTHORIZED);
        assertDisconnectThenClose(c, CloseCode.TOKEN_EXPIRED);
        Client upgrade = h.open(Optional.of(expiring("alice", "acme", Instant.now().minusSeconds(1))));
        upgrade.t.error(0, ErrorCode.UNAUTHORIZED);
        assertDisconnectThenClose(upgrade, CloseCode.TOKEN_EXPIRED);
    }

    @Test
    void aTokenExpiringBeyondAnyTimerIsWelcomedAndKeptOpen() {
        harness();
        Client c = h.connected(expiring("alice", "acme", Instant.parse("9000-01-01T00:00:00Z")));
        assertEquals(Session.State.OPEN, c.session.state());
        assertEquals(List.of(), c.sync());
    }

    @Test
    void aTokenExpiringAfterTheLastRepresentableYearIsRefusedNotHalfAuthenticated() {
        harness();
        Client c = h.open();
        c.send(new ClientFrame.Connect(1, expiring("alice", "acme", Instant.parse("+10000-01-01T00:00:00Z"))));
        c.t.error(1, ErrorCode.UNAUTHORIZED);
        assertDisconnectThenClose(c, CloseCode.UNAUTHORIZED);
        assertEquals(java.util.Optional.empty(), c.session.principal());
    }

    @Test
    void closesWith4002WhenNoConnectArrivesInTime() {
        harness(Harness.limits().authTimeout(Duration.ofMillis(100)));
        Client c = h.open();
        assertDisconnectThenClose(c, CloseCode.AUTH_TIMEOUT);
    }

    @Test
    void anAuthenticatedSessionIsNotClosedByTheAuthTimeout() {
        harness(Harness.limits().authTimeout(Duration.ofMillis(50)));
        Client c = h.open();
        c.send(new ClientFrame.Connect(1, ALICE));
        c.t.next(ServerFrame.Welcome.class);
        c.t.reply(1);
        // the auth timer would have fired by the time this later publication arrives
        Client other = h.open();
        other.t.next(ServerFrame.Disconnect.class);
        other.t.awaitClose();
        assertEquals(List.of(), c.sync());
        assertEquals(Session.State.OPEN, c.session.state());
    }

    @Test
    void connectingTwiceIsABadRequest() {
        harness();
        Client c = h.connected(ALICE);
        c.send(new ClientFrame.Connect(2, BOB));
        c.t.error(2, ErrorCode.BAD_REQUEST);
        assertEquals("alice", c.session.principal().orElseThrow().user());
    }

    @Test
    void anExpiringTokenEndsTheSessionWithADisconnect4003AndReconnect() {
        harness();
        Instant exp = Instant.now().truncatedTo(ChronoUnit.MILLIS).plusMillis(300);
        Client c = h.open(Optional.of(expiring("alice", "acme", exp)));
        ServerFrame.Welcome w = c.t.next(ServerFrame.Welcome.class);
        assertEquals(Optional.of(exp), w.expiresAt());
        ServerFrame.Disconnect d = c.t.next(ServerFrame.Disconnect.class);
        assertEquals(4003, d.code());
        assertTrue(d.reconnect());
        assertEquals(4003, c.t.awaitClose());
    }

    @Test
    void aRefreshBeforeExpiryKeepsTheSessionUntilTheNewExpiry() {
        harness();
        long start = System.nanoTime();
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        Client c = h.open(Optional.of(expiring("alice", "acme", now.plusMillis(200), "workspaces=w1")));
        c.t.next(ServerFrame.Welcome.class);
        Instant later = now.plusMillis(900);
        c.send(new ClientFrame.Refresh(1, expiring("alice", "acme", later, "workspaces=w1")));
        assertEquals(later.toString(), c.t.reply(1).body().get("expiresAt").asText());

        ServerFrame.Disconnect d = c.t.next(ServerFrame.Disconnect.class);
        assertEquals(4003, d.code());
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(elapsedMs >= 850, "closed after " + elapsedMs + " ms: the first token's expiry still applied");
        assertEquals(4003, c.t.awaitClose());
    }

    @Test
    void aRefreshCarriesTheNewClaims() {
        harness();
        Client c = h.connected(token("alice", "acme"));
        c.send(subscribe(1, "location:wh-1"));
        c.t.error(1, ErrorCode.FORBIDDEN);
        c.send(new ClientFrame.Refresh(2, token("alice", "acme", "locations=wh-1")));
        c.t.reply(2);
        c.send(subscribe(3, "location:wh-1"));
        c.t.reply(3);
    }

    @Test
    void aRefreshWithAnotherUsersOrTenantsTokenIsForbidden() {
        harness();
        Client c = h.connected(ALICE);
        c.send(new ClientFrame.Refresh(1, BOB));
        c.t.error(1, ErrorCode.FORBIDDEN);
        c.send(new ClientFrame.Refresh(2, token("alice", "globex")));
        c.t.error(2, ErrorCode.FORBIDDEN);
        c.send(new ClientFrame.Refresh(3, "bad"));
        c.t.error(3, ErrorCode.UNAUTHORIZED);
        c.send(new ClientFrame.Refresh(4, expiring("alice", "acme", Instant.now().minusSeconds(5))));
        c.t.error(4, ErrorCode.UNAUTHORIZED);

        assertEquals(Session.State.OPEN, c.session.state());
        assertEquals("acme", c.session.principal().orElseThrow().tenant());
        assertEquals("alice", c.session.principal().orElseThrow().user());
        assertEquals(List.of(), c.sync());
    }
}
