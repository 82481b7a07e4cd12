package dev.tandem.session;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.presence.Member;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

import dev.tandem.session.Harness.Client;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Presence and inboxes as a session drives them (memory adapters; Redis ones share the suites). */
class PresenceAndInboxSessionTest {
    private static final String ALICE = token("alice", "acme", "workspaces=w1");
    private static final String BOB = token("bob", "acme", "workspaces=w1");
    private Harness h;

    @AfterEach
    void close() {
        if (h != null) {
            h.close();
        }
    }

    private static List<ServerFrame.Presence> presenceFrames(List<ServerFrame> frames) {
        return frames.stream().filter(f -> f instanceof ServerFrame.Presence).map(f -> (ServerFrame.Presence) f).toList();
    }

    @Test
    void twoTabsOfOneUserJoinOnceAndLeaveOnce() throws InterruptedException {
        h = new Harness(Harness.limits().build());
        Client watcher = h.connected(BOB);
        watcher.send(new ClientFrame.Subscribe(1, "workspace:w1", Optional.empty(), false));
        watcher.t.reply(1);
        Client tab1 = h.connected(ALICE);
        Client tab2 = h.connected(ALICE);
        tab1.send(new ClientFrame.Subscribe(1, "workspace:w1", Optional.empty(), false));
        tab1.t.reply(1);
        tab2.send(new ClientFrame.Subscribe(2, "workspace:w1", Optional.empty(), true));
        ServerFrame.Reply snapshot = tab2.t.reply(2);
        assertEquals(2, snapshot.body().path("presence").size(), "bob and alice: " + snapshot.body());
        assertEquals(2, snapshot.body().path("presence").get(0).path("connections").asInt(), "alice has two tabs");
        List<ServerFrame> seen = new java.util.ArrayList<>(watcher.sync());
        tab1.send(new ClientFrame.Unsubscribe(3, "workspace:w1"));
        tab1.t.reply(3);
        tab2.session.close(dev.tandem.protocol.CloseCode.NORMAL, "bye");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (presenceFrames(seen).stream().noneMatch(p -> p.kind().equals("leave")) && System.nanoTime() < deadline) {
            Thread.sleep(50);
            seen.addAll(watcher.sync());
        }
        Thread.sleep(200);
        seen.addAll(watcher.sync());
        List<ServerFrame.Presence> alice = presenceFrames(seen).stream()
                .filter(p -> p.data().path("user").asText().equals("alice")).toList();
        assertEquals(List.of("join", "leave"), alice.stream().map(ServerFrame.Presence::kind).toList(),
                "one join and one leave for two tabs");
        assertTrue(alice.stream().allMatch(p -> p.channel().equals("workspace:w1")));
    }

    @Test
    void aJoinJustAfterTheMembersWereReadStillReachesTheNewSubscriber() {
        Client[] bob = new Client[1];
        PresenceStore store = new ReadHook(MemoryPresenceStore.create(), () -> {
            // bob joins once alice's list has been read, before alice's answer
            bob[0] = h.connected(BOB);
            bob[0].send(new ClientFrame.Subscribe(1, "workspace:w1", Optional.empty(), false));
            bob[0].t.reply(1);
        });
        h = new Harness(Harness.limits().build(), b -> b, ChannelRules.create(), store);
        Client alice = h.connected(ALICE);
        alice.send(new ClientFrame.Subscribe(1, "workspace:w1", Optional.empty(), true));
        ServerFrame.Reply snapshot = alice.t.reply(1);
        assertEquals(List.of("alice"), users(snapshot.body().path("presence")), "read before bob joined");
        List<ServerFrame.Presence> after = presenceFrames(alice.sync());
        assertEquals(List.of("join bob"), after.stream().map(p -> p.kind() + " " + p.data().path("user").asText())
                .toList(), "the join that followed the read follows the answer");
    }

    @Test
    void aReplayLongerThanTheLiveHoldAndAPublicationDuringTheMembersReadAllArrive() throws InterruptedException {
        int missed = 1_100; // more than the live publications a subscribe holds while it reads
        ChannelRules rules = ChannelRules.create(io.helidon.config.Config.just(io.helidon.config.ConfigSources.create(
                java.util.Map.of("namespaces.workspace.history-size", "2000"))));
        PresenceStore store = new ReadHook(MemoryPresenceStore.create(), () -> h.publish("acme", "workspace:w1", "n",
                h.codec.object().put("n", "live")));
        h = new Harness(Harness.limits().outboundQueueMessages(4_000).build(), b -> b, rules, store);
        Client alice = h.connected(ALICE);
        alice.send(new ClientFrame.Subscribe(1, "workspace:w1", Optional.empty(), false));
        ServerFrame.Reply first = alice.t.reply(1);
        Position since = new Position(first.body().path("epoch").asText(), first.body().path("offset").asLong());
        alice.send(new ClientFrame.Unsubscribe(2, "workspace:w1"));
        alice.t.reply(2);
        for (int i = 0; i < missed; i++) {
            h.publish("acme", "workspace:w1", "n", h.codec.object().put("n", i));
        }
        alice.send(new ClientFrame.Subscribe(3, "workspace:w1", Optional.of(since), true));
        assertTrue(alice.t.reply(3).body().path("recovered").asBoolean(), "the history covers the gap");
        List<ServerFrame.Event> events = new java.util.ArrayList<>();
        for (long deadline = System.nanoTime() + 5_000_000_000L; events.size() < missed + 1
                && System.nanoTime() < deadline; ) {
            alice.sync().stream().filter(f -> f instanceof ServerFrame.Event).forEach(f -> events.add((ServerFrame.Event) f));
        }
        assertEquals(missed + 1, events.size(), "every missed publication, then the live one");
        assertEquals("live", events.getLast().data().path("n").asText());
        assertFalse(alice.t.isClosed(), "not closed as a slow consumer");
    }

    private static List<String> users(JsonNode members) {
        List<String> users = new java.util.ArrayList<>();
        members.forEach(m -> users.add(m.path("user").asText()));
        return users;
    }

    /** A presence store that runs {@code afterRead} once, just after the first members read. */
    private record ReadHook(PresenceStore store, Runnable afterRead, java.util.concurrent.atomic.AtomicBoolean ran)
            implements PresenceStore {
        ReadHook(PresenceStore store, Runnable afterRead) {
            this(store, afterRead, new java.util.concurrent.atomic.AtomicBoolean());
        }

        @Override
        public List<Member> members(ChannelKey channel) {
            List<Member> members = store.members(channel);
            if (ran.compareAndSet(false, true)) {
                afterRead.run();
            }
            return members;
        }

        @Override
        public boolean join(ChannelKey channel, String user, String connectionId, Optional<JsonNode> state) {
            return store.join(channel, user, connectionId, state);
        }

        @Override
        public boolean leave(ChannelKey channel, String user, String connectionId) {
            return store.leave(channel, user, connectionId);
        }

        @Override
        public boolean heartbeat(ChannelKey channel, String user, String connectionId) {
            return store.heartbeat(channel, user, connectionId);
        }

        @Override
        public Member setState(ChannelKey channel, String user, String connectionId, JsonNode state) {
            return store.setState(channel, user, connectionId, state);
        }

        @Override
        public List<String> expire(ChannelKey channel) {
            return store.expire(channel);
        }

        @Override
        public PresenceLimits limits() {
            return store.limits();
        }
    }

    @Test
    void presenceStateIsSetQueriedAndCapped() {
        h = new Harness(Harness.limits().build());
        Client c = h.connected(ALICE);
        // members are for whoever may subscribe to the channel, as on every transport; a state
        // belongs to a connection present on it
        c.send(new ClientFrame.Presence(1, "workspace:w1", Optional.empty()));
        assertEquals(0, c.t.reply(1).body().path("members").size());
        c.send(new ClientFrame.Presence(6, "user:bob", Optional.empty()));
        c.t.error(6, ErrorCode.FORBIDDEN);
        c.send(new ClientFrame.Presence(7, "workspace:w1", Optional.of(h.codec.object().put("status", "here"))));
        c.t.error(7, ErrorCode.BAD_REQUEST);
        c.send(new ClientFrame.Subscribe(2, "workspace:w1", Optional.empty(), false));
        c.t.reply(2);
        c.send(new ClientFrame.Presence(3, "workspace:w1", Optional.of(h.codec.object().put("status", "away"))));
        // like a publication, the change reaches the channel's subscribers (this one too) before the reply
        ServerFrame.Presence change = c.t.next(ServerFrame.Presence.class);
        assertEquals("state", change.kind());
        assertEquals("away", change.data().path("state").path("status").asText());
        assertEquals("away", c.t.reply(3).body().path("member").path("state").path("status").asText());
        c.send(new ClientFrame.Presence(4, "workspace:w1", Optional.of(h.codec.object().put("pad", "x".repeat(5000)))));
        c.t.error(4, ErrorCode.TOO_LARGE);
        c.send(new ClientFrame.Presence(5, "workspace:w1", Optional.empty()));
        ServerFrame.Reply members = c.t.reply(5);
        assertEquals("away", members.body().path("members").get(0).path("state").path("status").asText(),
                "the refused state changed nothing");
    }

    @Test
    void inboxMessagesComeBackOnTheNextConnectionUntilAcknowledged() {
        h = new Harness(Harness.limits().build());
        h.publish("acme", "user:alice", "invoice.paid", h.codec.object().put("n", 1));
        h.publish("acme", "user:alice", "invoice.paid", h.codec.object().put("n", 2));
        Client phone = h.connected(ALICE);
        phone.send(new ClientFrame.Subscribe(1, "user:alice", Optional.empty(), false));
        assertEquals(2, phone.t.reply(1).body().path("inbox").asInt());
        List<ServerFrame.Event> events = phone.sync().stream().filter(f -> f instanceof ServerFrame.Event)
                .map(f -> (ServerFrame.Event) f).toList();
        assertEquals(List.of(1, 2), events.stream().map(e -> e.data().path("n").asInt()).toList());
        phone.send(new ClientFrame.Ack(2, "user:alice", 1));
        assertEquals(1, phone.t.reply(2).body().path("remaining").asInt());
        phone.send(new ClientFrame.Ack(3, "user:alice", 99));
        phone.t.error(3, ErrorCode.NOT_FOUND);
        phone.send(new ClientFrame.Ack(4, "user:bob", 1));
        phone.t.error(4, ErrorCode.FORBIDDEN);
        phone.send(new ClientFrame.Ack(5, "user:alice", 2, Optional.of("an-epoch-that-is-gone")));
        phone.t.error(5, ErrorCode.CONFLICT);
        String epoch = events.getFirst().position().orElseThrow().epoch();
        phone.send(new ClientFrame.Ack(6, "user:alice", 1, Optional.of(epoch)));
        assertEquals(1, phone.t.reply(6).body().path("remaining").asInt(), "same epoch: applied (1 was acked already)");

        Client laptop = h.connected(ALICE);
        laptop.send(new ClientFrame.Subscribe(1, "user:alice", Optional.empty(), false));
        assertEquals(1, laptop.t.reply(1).body().path("inbox").asInt());
        List<ServerFrame.Event> again = laptop.sync().stream().filter(f -> f instanceof ServerFrame.Event)
                .map(f -> (ServerFrame.Event) f).toList();
        assertEquals(List.of(2), again.stream().map(e -> e.data().path("n").asInt()).toList());
        laptop.send(new ClientFrame.Ack(2, "user:alice", 2));
        assertEquals(0, laptop.t.reply(2).body().path("remaining").asInt());
        Client third = h.connected(ALICE);
        third.send(new ClientFrame.Subscribe(1, "user:alice", Optional.empty(), false));
        assertEquals(0, third.t.reply(1).body().path("inbox").asInt());
        assertFalse(third.sync().stream().anyMatch(f -> f instanceof ServerFrame.Event));
    }

    @Test
    void typingSignalsHaveTheirOwnRateLimit() {
        h = new Harness(Harness.limits().build());
        Client c = h.connected(ALICE);
        int refused = 0;
        for (int i = 1; i <= 30; i++) {
            c.send(new ClientFrame.Publish(i, "doc:task:1", "typing", h.codec.object(), true));
        }
        for (ServerFrame f : c.sync()) {
            if (f instanceof ServerFrame.Error e && e.code() == ErrorCode.RATE_LIMITED) {
                refused++;
            }
        }
        assertTrue(refused >= 15, "refused " + refused + " of 30 signals sent at once (limit 10/s)");
        assertEquals(Session.State.OPEN, c.session.state());
    }
}
