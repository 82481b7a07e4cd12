package dev.tandem.operations;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.broker.MemoryBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every token checked once, the same way; the connect hook asked once per connection, and for
 * requests apart from their connection once per token on the node, never once per request.
 */
class AuthenticationTest {
    private final AtomicInteger connectCalls = new AtomicInteger();
    private final AtomicBoolean refuse = new AtomicBoolean();
    private final AtomicInteger verifications = new AtomicInteger();
    /** A token is its user's name, valid an hour; "old" has expired, "svc" is a service. */
    private final Operations ops = Operations.builder()
            .broker(new MemoryBroker(new Hub(FrameCodec.create(), Telemetry.NOOP), ChannelRules.create(), Telemetry.NOOP,
                    Clock.systemUTC()))
            .verifier(token -> verifications.incrementAndGet() < 0 ? null : new Principal("acme", token, Set.of(token.equals("svc") ? "service" : "user"), Map.of(),
                    Optional.of(token.equals("old") ? Instant.now().minusSeconds(1) : Instant.now().plusSeconds(3600))))
            .hooks(new Hooks() {
                @Override
                public Admitted connect(Principal principal) {
                    connectCalls.incrementAndGet();
                    if (refuse.get()) {
                        throw new ProtocolException(ErrorCode.FORBIDDEN, "not today");
                    }
                    return new Admitted(principal.with(Set.of("typist"), principal.scopes()), List.of());
                }
            })
            .build();

    @AfterEach
    void close() {
        ops.close();
    }

    @Test
    void aServiceTokenIsVerifiedOnceAMinuteButItsExpiryAndRevocationsAreJudgedEveryCall() {
        Authentication auth = ops.authentication();
        for (int i = 0; i < 3; i++) {
            assertEquals("svc", auth.service("svc").user());
        }
        assertEquals(1, verifications.get(), "the signature and claims of the same token are checked once");
        assertThrows(TokenExpiredException.class, () -> auth.service("old"));
        assertThrows(TokenExpiredException.class, () -> auth.service("old"), "an expired token stays refused");
        assertEquals(ErrorCode.FORBIDDEN, assertThrows(ProtocolException.class, () -> auth.service("ann")).code(),
                "a user's token is no service's, kept or not");
        assertEquals(ErrorCode.FORBIDDEN, assertThrows(ProtocolException.class, () -> auth.service("ann")).code());
        ops.fleet().revokeUser(new Principal("acme", "admin", Set.of("service"), Map.of(), Optional.empty()), "svc",
                Optional.empty(), Optional.empty());
        assertThrows(dev.tandem.auth.TokenRevokedException.class, () -> auth.service("svc"),
                "a revocation applies to a token verified before");
    }

    @Test
    void requestsApartFromTheirConnectionAskTheConnectHookOncePerTokenAndActAsItAdmitted() {
        Authentication auth = ops.authentication();
        for (int i = 0; i < 3; i++) {
            assertTrue(auth.detachedRequest("ann").hasRole("typist"), "the hook's role applies");
        }
        assertEquals(1, connectCalls.get());
        auth.detachedRequest("bob");
        assertEquals(2, connectCalls.get(), "another token is asked about");
    }

    @Test
    void aStreamsAdmissionIsKeptForItsTokensRequestsButEveryConnectionAsksTheHook() {
        Authentication auth = ops.authentication();
        auth.stream("ann");
        auth.detachedRequest("ann");
        assertEquals(1, connectCalls.get(), "the stream's answer serves its POSTs on this node");
        auth.stream("ann");
        auth.connection("ann");
        assertEquals(3, connectCalls.get(), "each connection asks");
    }

    @Test
    void aRefusalIsNotKeptAndARequestOnItsConnectionsNodeDoesNotAskTheHook() {
        Authentication auth = ops.authentication();
        refuse.set(true);
        assertEquals(ErrorCode.FORBIDDEN, assertThrows(ProtocolException.class, () -> auth.detachedRequest("ann")).code());
        refuse.set(false);
        assertTrue(auth.detachedRequest("ann").hasRole("typist"), "asked again after a refusal");
        int before = connectCalls.get();
        auth.request("ann");
        assertEquals(before, connectCalls.get(), "its connection's principal acts: the token only has to be valid");
    }

    @Test
    void anExpiredTokenIsRefusedOnEveryPathAndAServiceNeedsItsRole() {
        Authentication auth = ops.authentication();
        assertThrows(TokenExpiredException.class, () -> auth.connection("old"));
        assertThrows(TokenExpiredException.class, () -> auth.request("old"));
        assertThrows(TokenExpiredException.class, () -> auth.detachedRequest("old"));
        assertThrows(TokenExpiredException.class, () -> auth.service("old"));
        assertEquals(ErrorCode.FORBIDDEN, assertThrows(ProtocolException.class, () -> auth.service("ann")).code());
        assertEquals("svc", auth.service("svc").user());
        assertEquals(0, connectCalls.get(), "nothing was asked about an expired token or a service");
    }
}
