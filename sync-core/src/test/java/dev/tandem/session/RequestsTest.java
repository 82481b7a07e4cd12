package dev.tandem.session;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

import static dev.tandem.session.FakeVerifier.token;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The frames an event stream sends apart from its stream ({@link Engine#request}): through the
 * stream's session when it is open on this node, with that connection's limits; otherwise under
 * the same limits per user; frames about a connection refused either way.
 */
class RequestsTest {
    private static final String ALICE = token("alice", "acme");
    private Harness h;

    @AfterEach
    void close() {
        h.close();
    }

    private ServerFrame request(Optional<String> session, String token, String frame) {
        return h.engine.request(session, token, frame.getBytes(StandardCharsets.UTF_8));
    }

    private static String ping(long id) {
        return "{\"op\":\"ping\",\"id\":" + id + "}";
    }

    private static ErrorCode refused(ServerFrame answer, long id) {
        ServerFrame.Error e = assertInstanceOf(ServerFrame.Error.class, answer);
        assertEquals(id, e.id(), "answered with the request's id");
        return e.code();
    }

    @Test
    void aRequestNamingItsOpenSessionIsChargedToThatConnectionAndAFloodClosesIt() {
        h = new Harness(Harness.limits().rate(1, 2, 3).build());
        Harness.Client stream = h.connected(ALICE);
        Optional<String> session = Optional.of(stream.session.id());
        assertInstanceOf(ServerFrame.Reply.class, request(session, ALICE, ping(1)));
        assertInstanceOf(ServerFrame.Reply.class, request(session, ALICE, ping(2)));
        assertEquals(ErrorCode.RATE_LIMITED, refused(request(session, ALICE, ping(3)), 3));
        assertEquals(ErrorCode.RATE_LIMITED, refused(request(session, ALICE, ping(4)), 4));
        assertEquals(ErrorCode.RATE_LIMITED, refused(request(session, ALICE, ping(5)), 5));
        assertEquals(4008, stream.t.awaitClose(), "three refusals in a row: the connection is flooding");
    }

    @Test
    void aRequestWithoutItsSessionHereHasTheSameLimitsPerUser() {
        h = new Harness(Harness.limits().rate(1, 2, 3).build());
        Harness.Client stream = h.connected(ALICE);
        for (long id = 1; id <= 2; id++) {
            assertInstanceOf(ServerFrame.Reply.class, request(Optional.empty(), ALICE, ping(id)));
        }
        assertEquals(ErrorCode.RATE_LIMITED, refused(request(Optional.of("not-here"), ALICE, ping(3)), 3));
        assertInstanceOf(ServerFrame.Reply.class, request(Optional.empty(), token("bob", "acme"), ping(4)),
                "another user has a budget of his own");
        assertInstanceOf(ServerFrame.Reply.class, request(Optional.of(stream.session.id()), ALICE, ping(5)),
                "the connection's budget is its own");
        assertEquals(Session.State.OPEN, stream.session.state(), "nobody floods a connection it does not name");
    }

    @Test
    void aRequestOverTheFrameSizeIsTooLargeAndEndsTheSessionItNames() {
        h = new Harness(Harness.limits().maxFrameBytes(256).build());
        Harness.Client stream = h.connected(ALICE);
        String big = "{\"op\":\"publish\",\"id\":7,\"channel\":\"doc:note:n\",\"type\":\"t\",\"ephemeral\":true,"
                + "\"data\":{\"x\":\"" + "y".repeat(300) + "\"}}";
        assertEquals(ErrorCode.TOO_LARGE, refused(request(Optional.empty(), ALICE, big), 7));
        assertEquals(Session.State.OPEN, stream.session.state());
        assertEquals(ErrorCode.TOO_LARGE, refused(request(Optional.of(stream.session.id()), ALICE, big), 7));
        assertEquals(1009, stream.t.awaitClose());
    }

    @Test
    void framesAboutAConnectionAreBadRequestsAndAnotherUsersSessionIsForbidden() {
        h = new Harness(Harness.limits().build());
        Harness.Client stream = h.connected(ALICE);
        Optional<String> session = Optional.of(stream.session.id());
        assertEquals(ErrorCode.BAD_REQUEST, refused(request(session, ALICE,
                "{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\"}"), 1));
        assertEquals(ErrorCode.BAD_REQUEST, refused(request(session, ALICE,
                "{\"op\":\"presence\",\"id\":2,\"channel\":\"tenant\",\"state\":{\"s\":1}}"), 2));
        assertEquals(ErrorCode.FORBIDDEN, assertInstanceOf(ServerFrame.Error.class,
                request(session, token("bob", "acme"), ping(3))).code());
        assertEquals(ErrorCode.UNAUTHORIZED, assertInstanceOf(ServerFrame.Error.class,
                request(session, "bad", ping(4))).code());
        assertFalse(stream.t.isClosed());
    }
}
