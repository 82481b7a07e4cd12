package dev.tandem.session;

import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.session.Harness.Client;

import org.junit.jupiter.api.AfterEach;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * What the session tests share: a {@link Harness} (engine, memory broker, fake verifier, test
 * transports) made with the limits a test asks for and closed after it, two users' tokens, and
 * the frames and checks the tests repeat.
 */
abstract class SessionFixture {
    /** Alice of tenant acme: locations wh-1 and wh-2, workspace w1. */
    static final String ALICE = token("alice", "acme", "locations=wh-1,wh-2", "workspaces=w1");
    /** Bob of tenant acme: workspace w1. */
    static final String BOB = token("bob", "acme", "workspaces=w1");

    /** The harness of the running test, once it made one. */
    Harness h;

    Harness harness(Harness.Limits limits) {
        h = new Harness(limits.build());
        return h;
    }

    Harness harness() {
        return harness(Harness.limits());
    }

    @AfterEach
    void closeHarness() {
        if (h != null) {
            h.close();
        }
    }

    JsonNode data(int i) {
        return h.codec.object().put("i", i);
    }

    void publishToTenant(String tenant, int i) {
        h.publish(tenant, "tenant", "tick", data(i));
    }

    static ClientFrame.Subscribe subscribe(long id, String channel) {
        return new ClientFrame.Subscribe(id, channel, Optional.empty(), false);
    }

    static ClientFrame.Subscribe subscribe(long id, String channel, Position since) {
        return new ClientFrame.Subscribe(id, channel, Optional.of(since), false);
    }

    ClientFrame.Publish publish(long id, String channel, int i) {
        return new ClientFrame.Publish(id, channel, "note.added", data(i), false);
    }

    static void assertDisconnectThenClose(Client c, CloseCode code) {
        ServerFrame.Disconnect d = c.t.next(ServerFrame.Disconnect.class);
        assertEquals(code.code(), d.code());
        assertEquals(code.reconnect(), d.reconnect());
        assertFalse(d.reason().isEmpty());
        assertEquals(code.code(), c.t.awaitClose());
        assertEquals(Session.State.CLOSED, c.session.state());
    }
}
