package dev.tandem.session;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static dev.tandem.session.FakeVerifier.expiring;
import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SessionTest {
    private static final String ALICE = token("alice", "acme", "locations=wh-1,wh-2", "workspaces=w1");
    private static final String BOB = token("bob", "acme", "workspaces=w1");

    private Harness h;

    private Harness harness(Harness.Limits limits) {
        h = new Harness(limits.build());
        return h;
    }

    private Harness harness() {
        return harness(Harness.limits());
    }

    @AfterEach
    void closeHarness() {
        if (h != null) {
            h.close();
        }
    }

    private JsonNode data(int i) {
        return h.codec.object().put("i", i);
    }

    private void publishToTenant(String tenant, int i) {
        h.publish(tenant, "tenant", "tick", data(i));
    }

    private static ClientFrame.Subscribe subscribe(long id, String channel) {
        return new ClientFrame.Subscribe(id, channel, Optional.empty(), false);
    }

    private static ClientFrame.Subscribe subscribe(long id, String channel, Position since) {
        return new ClientFrame.Subscribe(id, channel, Optional.of(since), false);
    }

    private ClientFrame.Publish publish(long id, String channel, int i) {
        return new ClientFrame.Publish(id, channel, "note.added", data(i), false);
    }

    private static void assertDisconnectThenClose(Client c, CloseCode code) {
        ServerFrame.Disconnect d = c.t.next(ServerFrame.Disconnect.class);
        assertEquals(code.code(), d.code());
        assertEquals(code.reconnect(), d.reconnect());
        assertFalse(d.reason().isEmpty());
        assertEquals(code.code(), c.t.awaitClose());
        assertEquals(Session.State.CLOSED, c.session.state());
    }

    // ------------------------------------------------------------------ authentication

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

    // ------------------------------------------------------------------ framing

    @Test
    void answersEveryFrameWithAnIdExactlyOnce() {
        harness();
        Client c = h.open();
        c.send(new ClientFrame.Connect(1, ALICE));
        c.send(subscribe(2, "tenant"));
        c.send(subscribe(3, "user:bob"));
        c.send(publish(4, "workspace:w1", 1));
        c.send(new ClientFrame.Unsubscribe(5, "tenant"));
        c.send("{\"op\":\"frobnicate\",\"id\":6}");
        c.send(new ClientFrame.DocGet(7, "stock_level", "A-1"));
        c.send(subscribe(8, "location:wh-1", new Position("nope", 0)));
        c.send(new ClientFrame.Ping(9));
        c.send("{\"op\":\"subscribe\",\"id\":10,\"channel\":17}");
        c.send(new ClientFrame.Connect(11, ALICE));
        c.send(new ClientFrame.Refresh(12, ALICE));
        c.send(publish(13, "location:wh-1", 2));
        c.send(subscribe(14, "location:wh-1"));
        c.send(subscribe(15, "nowhere:x"));
        c.send(new ClientFrame.Ack(16, "user:alice", 3));

        Map<Long, Integer> answers = new HashMap<>();
        List<ServerFrame> frames = c.sync();
        for (ServerFrame f : frames) {
            if (f instanceof ServerFrame.Reply r) {
                answers.merge(r.id(), 1, Integer::sum);
            } else if (f instanceof ServerFrame.Error e) {
                answers.merge(e.id(), 1, Integer::sum);
            }
        }
        Map<Long, Integer> expected = new HashMap<>();
        for (long id = 1; id <= 16; id++) {
            expected.put(id, 1);
        }
        assertEquals(expected, answers, () -> "frames: " + frames);
    }

    @Test
    void malformedFramesAreBadRequestsAndTheSessionKeepsWorking() {
        harness();
        Client c = h.connected(ALICE);
        c.send("not json");
        c.t.error(0, ErrorCode.BAD_REQUEST);
        c.send("[1,2]");
        c.t.error(0, ErrorCode.BAD_REQUEST);
        c.send("{\"op\":\"frobnicate\",\"id\":5}");
        c.t.error(5, ErrorCode.BAD_REQUEST);
        c.send("{\"op\":\"subscribe\",\"id\":6,\"channel\":42}");
        c.t.error(6, ErrorCode.BAD_REQUEST);
        c.send("{\"op\":\"subscribe\",\"id\":7}");
        c.t.error(7, ErrorCode.BAD_REQUEST);
        c.send("{\"op\":\"ping\",\"id\":-1}");
        c.t.error(0, ErrorCode.BAD_REQUEST);
        c.send("{\"id\":8}");
        c.t.error(8, ErrorCode.BAD_REQUEST);
        c.send("{\"op\":\"subscribe\",\"id\":9,\"channel\":\"tenant\",\"since\":{\"epoch\":\"e\",\"offset\":\"x\"}}");
        c.t.error(9, ErrorCode.BAD_REQUEST);
        assertEquals(0, c.session.subscriptionCount(), "a refused frame changes nothing");

        c.send(subscribe(10, "tenant"));
        assertEquals("tenant", c.t.reply(10).body().get("channel").asText());
        assertEquals(Session.State.OPEN, c.session.state());
        assertFalse(c.t.isClosed());
    }

    @Test
    void featuresThisNodeDoesNotHaveAreUnavailable() {
        harness();
        Client c = h.connected(ALICE);
        JsonNode obj = h.codec.object();
        ClientFrame[] frames = {
                new ClientFrame.DocGet(1, "stock_level", "A-1"),
                new ClientFrame.DocUpdate(2, "stock_level", "A-1", 3, "op-1", Optional.of(obj), Optional.empty()),
                new ClientFrame.Sync(3, List.of()),
                new ClientFrame.ConflictResolve(4, "c-1", "accept_local", Optional.empty()),
        };
        for (ClientFrame f : frames) {
            c.send(f);
            c.t.error(f.id(), ErrorCode.UNAVAILABLE);
        }
        assertEquals(Session.State.OPEN, c.session.state());
    }

    @Test
    void anUnexpectedFailureIsAnInternalErrorAndTheSessionKeepsWorking() {
        h = new Harness(Harness.limits().build(), FailingBroker::new);
        Client c = h.connected(ALICE);
        c.send(publish(1, "workspace:w1", 1));
        ServerFrame.Error e = c.t.error(1, ErrorCode.INTERNAL);
        assertFalse(e.message().contains("boom"), "internals stay in the server log: " + e.message());
        c.send(subscribe(2, "tenant"));
        c.t.reply(2);
        assertEquals(Session.State.OPEN, c.session.state());
    }

    // ------------------------------------------------------------------ subscriptions and publications

    @Test
    void subscribePublishAndUnsubscribeDeliverEventsWithIncreasingOffsets() {
        harness();
        Client alice = h.connected(ALICE);
        Client bob = h.connected(BOB);
        bob.send(subscribe(1, "workspace:w1"));
        ServerFrame.Reply subscribed = bob.t.reply(1);
        assertEquals("workspace:w1", subscribed.body().get("channel").asText());
        assertEquals(0, subscribed.body().get("offset").asLong());
        String epoch = subscribed.body().get("epoch").asText();
        assertFalse(subscribed.body().has("recovered"), "no position given, nothing to say about recovery");
        assertEquals(1, bob.session.subscriptionCount());

        for (int i = 1; i <= 3; i++) {
            alice.send(publish(10 + i, "workspace:w1", i));
            ServerFrame.Reply published = alice.t.reply(10 + i);
            assertEquals(i, published.body().get("offset").asLong());
            assertEquals(epoch, published.body().get("epoch").asText());

            ServerFrame.Event event = bob.t.next(ServerFrame.Event.class);
            assertEquals("workspace:w1", event.channel());
            assertEquals(Optional.of(new Position(epoch, i)), event.position());
            assertEquals("note.added", event.type());
            assertEquals(Optional.of("alice"), event.from());
            assertEquals(i, event.data().get("i").asInt());
            assertEquals(Optional.empty(), event.eventId(), "a generated event id stays out of the frame");
        }

        bob.send(new ClientFrame.Unsubscribe(2, "workspace:w1"));
        ServerFrame.Reply unsubscribed = bob.t.reply(2);
        assertFalse(unsubscribed.body().get("subscribed").asBoolean());
        assertEquals(0, bob.session.subscriptionCount());

        alice.send(publish(14, "workspace:w1", 4));
        assertEquals(4, alice.t.reply(14).body().get("offset").asLong());
        assertEquals(List.of(), bob.sync(), "no events after unsubscribe");
    }

    @Test
    void aPublisherSubscribedToItsChannelGetsItsOwnEventBeforeTheReply() {
        harness();
        Client alice = h.connected(ALICE);
        alice.send(subscribe(1, "workspace:w1"));
        alice.t.reply(1);
        alice.send(publish(2, "workspace:w1", 1));
        assertEquals(1, alice.t.next(ServerFrame.Event.class).position().orElseThrow().offset());
        alice.t.reply(2);
    }

    @Test
    void resumesWithTheReplyThenTheMissedEventsThenLiveOnes() {
        harness();
        for (int i = 1; i <= 3; i++) {
            publishToTenant("acme", i);
        }
        String epoch = h.memory.top(h.key("acme", "tenant")).epoch();
        Client c = h.connected(BOB);
        c.send(subscribe(1, "tenant", new Position(epoch, 1)));
        ServerFrame.Reply reply = c.t.reply(1);
        assertTrue(reply.body().get("recovered").asBoolean());
        assertEquals(3, reply.body().get("offset").asLong());
        assertEquals(epoch, reply.body().get("epoch").asText());
        assertEquals(Optional.of(new Position(epoch, 2)), c.t.next(ServerFrame.Event.class).position());
        assertEquals(Optional.of(new Position(epoch, 3)), c.t.next(ServerFrame.Event.class).position());

        publishToTenant("acme", 4);
        assertEquals(Optional.of(new Position(epoch, 4)), c.t.next(ServerFrame.Event.class).position());
    }

    @Test
    void aPositionFromAnotherEpochIsAnsweredRecoveredFalseWithTheCurrentEpoch() {
        harness();
        publishToTenant("acme", 1);
        Position top = h.memory.top(h.key("acme", "tenant"));
        Client c = h.connected(BOB);
        c.send(subscribe(1, "tenant", new Position("gone", 7)));
        ServerFrame.Reply reply = c.t.reply(1);
        assertFalse(reply.body().get("recovered").asBoolean());
        assertEquals(top.epoch(), reply.body().get("epoch").asText());
        assertEquals(top.offset(), reply.body().get("offset").asLong());
        assertEquals(List.of(), c.sync(), "nothing is replayed");
    }

    @Test
    void aPositionAheadOfTheChannelIsABadRequestAndSubscribesNothing() {
        harness();
        publishToTenant("acme", 1);
        String epoch = h.memory.top(h.key("acme", "tenant")).epoch();
        Client c = h.connected(BOB);
        c.send(subscribe(1, "tenant", new Position(epoch, 99)));
        c.t.error(1, ErrorCode.BAD_REQUEST);
        assertEquals(0, c.session.subscriptionCount());
        assertEquals(0, h.hub.subscriberCount(h.key("acme", "tenant")));
        // and the client may try again
        c.send(subscribe(2, "tenant", new Position(epoch, 1)));
        assertTrue(c.t.reply(2).body().get("recovered").asBoolean());
    }

    @Test
    void anotherUsersChannelIsForbidden() {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "user:bob"));
        ServerFrame.Error e = c.t.error(1, ErrorCode.FORBIDDEN);
        assertTrue(e.message().contains("user:bob"), e.message());
        c.send(subscribe(2, "user:alice"));
        c.t.reply(2);
        c.send(subscribe(3, "location:wh-9"));
        c.t.error(3, ErrorCode.FORBIDDEN);
        c.send(subscribe(4, "location:wh-2"));
        c.t.reply(4);
        assertEquals(2, c.session.subscriptionCount());
    }

    @Test
    void unknownAndMalformedChannelsAreUnknownChannelErrors() {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "warehouse:wh-1"));
        c.t.error(1, ErrorCode.UNKNOWN_CHANNEL);
        c.send(subscribe(2, "user:"));
        c.t.error(2, ErrorCode.UNKNOWN_CHANNEL);
        c.send(subscribe(3, "globex/tenant"));
        c.t.error(3, ErrorCode.UNKNOWN_CHANNEL);
        c.send(new ClientFrame.Unsubscribe(4, "a::b"));
        c.t.error(4, ErrorCode.UNKNOWN_CHANNEL);
        assertEquals(Session.State.OPEN, c.session.state());
    }

    @Test
    void theSameChannelNameInAnotherTenantIsAnotherChannel() {
        harness();
        Client acme = h.connected(token("alice", "acme"));
        Client globex = h.connected(token("alice", "globex"));
        acme.send(subscribe(1, "tenant"));
        acme.t.reply(1);
        globex.send(subscribe(1, "tenant"));
        globex.t.reply(1);

        publishToTenant("acme", 1);
        ServerFrame.Event e = acme.t.next(ServerFrame.Event.class);
        assertEquals("tenant", e.channel());
        assertEquals(List.of(), globex.sync());
    }

    @Test
    void subscribingTwiceToAChannelIsABadRequest() {
        harness();
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "tenant"));
        c.t.reply(1);
        c.send(subscribe(2, "tenant"));
        c.t.error(2, ErrorCode.BAD_REQUEST);
        publishToTenant("acme", 1);
        c.t.next(ServerFrame.Event.class);
        assertEquals(List.of(), c.sync(), "still one subscription, so one event");
    }

    @Test
    void publishingFollowsTheNamespaceRules() {
        harness();
        Client c = h.connected(ALICE);
        c.send(publish(1, "location:wh-1", 1));
        c.t.error(1, ErrorCode.FORBIDDEN);
        c.send(publish(2, "workspace:w2", 1));
        c.t.error(2, ErrorCode.FORBIDDEN);
        c.send(publish(3, "doc:note:n1", 1));
        c.t.error(3, ErrorCode.FORBIDDEN);
        c.send(new ClientFrame.Publish(4, "workspace:w1", "has spaces", data(1), false));
        c.t.error(4, ErrorCode.BAD_REQUEST);
        c.send(new ClientFrame.Publish(5, "workspace:w1", "x".repeat(65), data(1), false));
        c.t.error(5, ErrorCode.BAD_REQUEST);
        assertEquals(0, h.memory.top(h.key("acme", "workspace:w1")).offset(), "nothing refused was published");
    }

    @Test
    void docChannelsCarryEphemeralClientPublicationsWithoutOffsets() {
        harness();
        Client alice = h.connected(ALICE);
        Client bob = h.connected(BOB);
        bob.send(subscribe(1, "doc:note:n1"));
        bob.t.reply(1);
        alice.send(new ClientFrame.Publish(2, "doc:note:n1", "typing", data(1), true));
        ServerFrame.Reply reply = alice.t.reply(2);
        assertFalse(reply.body().has("offset"));
        assertTrue(reply.body().has("eventId"));
        ServerFrame.Event e = bob.t.next(ServerFrame.Event.class);
        assertEquals(Optional.empty(), e.position());
        assertEquals("typing", e.type());
        assertEquals(Optional.of("alice"), e.from());
    }

    @Test
    void stopsAtTheMaximumNumberOfSubscriptions() {
        harness(Harness.limits().maxSubscriptions(2));
        Client c = h.connected(ALICE);
        c.send(subscribe(1, "tenant"));
        c.t.reply(1);
        c.send(subscribe(2, "location:wh-1"));
        c.t.reply(2);
        c.send(subscribe(3, "location:wh-2"));
        c.t.error(3, ErrorCode.LIMIT_EXCEEDED);
        assertEquals(2, c.session.subscriptionCount());
        assertEquals(0, h.hub.subscriberCount(h.key("acme", "location:wh-2")));

        c.send(new ClientFrame.Unsubscribe(4, "tenant"));
        c.t.reply(4);
        c.send(subscribe(5, "location:wh-2"));
        c.t.reply(5);
    }

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

    // ------------------------------------------------------------------ limits

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

    // ------------------------------------------------------------------ tokens

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

    // ------------------------------------------------------------------ liveness

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

    // ------------------------------------------------------------------ helpers

    /** A broker whose client publications fail unexpectedly. */
    private static final class FailingBroker implements Broker {
        private final Broker delegate;

        FailingBroker(Broker delegate) {
            this.delegate = delegate;
        }

        @Override
        public Publication publish(ChannelKey channel, Draft draft) {
            if (draft.from().isPresent()) {
                throw new IllegalStateException("boom");
            }
            return delegate.publish(channel, draft);
        }

        @Override
        public Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                                  Consumer<Recovery> beforeLive) {
            return delegate.subscribe(channel, subscriber, since, beforeLive);
        }

        @Override
        public void unsubscribe(ChannelKey channel, Subscriber subscriber) {
            delegate.unsubscribe(channel, subscriber);
        }

        @Override
        public Position top(ChannelKey channel) {
            return delegate.top(channel);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
