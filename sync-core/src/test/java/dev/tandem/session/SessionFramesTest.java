package dev.tandem.session;

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
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * How a session answers the frames it reads: each frame with an id exactly once, malformed frames
 * and features the node lacks as errors, an unexpected failure as an internal error, the session
 * working on after each.
 */
class SessionFramesTest extends SessionFixture {
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
