package dev.tandem.session;

import java.util.List;
import java.util.Optional;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A session's subscriptions and client publications: delivery with offsets, resuming from a
 * position, the channel and namespace rules, tenants, and the cap on subscriptions.
 */
class SessionSubscriptionsTest extends SessionFixture {
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
}
