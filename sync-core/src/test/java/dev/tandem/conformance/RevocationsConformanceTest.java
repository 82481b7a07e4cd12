package dev.tandem.conformance;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The conformance suite of the {@link Revocations} port, run against the in-memory adapter here
 * and the Redis adapter of the presence module (where "another node" has its own client). On the
 * real clock: revocations lapse in real time. Each test uses a tenant of its own.
 */
public abstract class RevocationsConformanceTest {
    /** The adapter under test. */
    protected Revocations node;
    /** Another node's view (the same instance for one-node adapters). */
    protected Revocations other;
    private String tenant;

    /** Creates the adapter under test. */
    protected abstract Revocations create(Clock clock);

    /** Another node's view of the same revocations (default: the same instance). */
    protected Revocations otherNode(Revocations node) {
        return node;
    }

    @BeforeEach
    void setUp() {
        tenant = "rv" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        node = create(Clock.systemUTC());
        other = otherNode(node);
    }

    @AfterEach
    void tearDown() {
        if (other != node) {
            other.close();
        }
        node.close();
    }

    private Principal token(String user, String jti, Instant issuedAt) {
        return new Principal(tenant, user, Set.of(), Map.of(), Optional.of(Instant.now().plusSeconds(3600)),
                Optional.of(jti), Optional.of(issuedAt));
    }

    @Test
    void aTokenRevokedByItsIdIsRevokedOnEveryNodeUntilItLapses() throws Exception {
        Principal revoked = token("alice", "jti-1", Instant.now());
        Principal sameUserOtherToken = token("alice", "jti-2", Instant.now());
        assertFalse(other.revoked(revoked));
        node.revokeToken(tenant, "jti-1", Instant.now().plusMillis(700));
        assertTrue(node.revoked(revoked));
        assertTrue(other.revoked(revoked), "another node refuses it too");
        assertFalse(other.revoked(sameUserOtherToken));
        Principal otherTenant = new Principal(tenant + "x", "alice", Set.of(), Map.of(), Optional.empty(),
                Optional.of("jti-1"), Optional.empty());
        assertFalse(other.revoked(otherTenant), "token ids are per tenant");
        Thread.sleep(1_000);
        assertFalse(other.revoked(revoked), "forgotten once the token has expired");
    }

    @Test
    void aUsersTokensIssuedBeforeATimeAreRevokedAndLaterOnesAreNot() {
        Instant cutoff = Instant.now();
        node.revokeUser(tenant, "bob", cutoff, cutoff.plusSeconds(60));
        assertTrue(other.revoked(token("bob", "a", cutoff.minusSeconds(5))));
        assertFalse(other.revoked(token("bob", "b", cutoff.plusSeconds(5))), "issued after the cutoff");
        assertFalse(other.revoked(token("carol", "c", cutoff.minusSeconds(5))), "another user");
        assertTrue(other.revoked(new Principal(tenant, "bob", Set.of(), Map.of(), Optional.empty())),
                "a token without iat cannot prove it is newer");
        node.revokeUser(tenant, "bob", cutoff.minusSeconds(60), cutoff.plusSeconds(60));
        assertTrue(other.revoked(token("bob", "d", cutoff.minusSeconds(5))), "an earlier cutoff does not undo a later one");
    }

    @Test
    void everyNodeHearsEveryNoticeWithinASecond() throws Exception {
        BlockingQueue<Revocations.Notice> heard = new LinkedBlockingQueue<>();
        other.listen(n -> {
            if (n.tenant().equals(tenant)) {
                heard.add(n);
            }
        });
        Thread.sleep(200); // a pub/sub subscription may take a moment to be live
        node.disconnectUser(tenant, "dave");
        node.revokeToken(tenant, "jti|with|bars", Instant.now().plusSeconds(60));
        Instant cutoff = Instant.ofEpochMilli(Instant.now().toEpochMilli());
        node.revokeUser(tenant, "erin", cutoff, cutoff.plusSeconds(60));
        assertEquals(new Revocations.UserDisconnected(tenant, "dave"), next(heard));
        assertEquals(new Revocations.TokenRevoked(tenant, "jti|with|bars"), next(heard));
        assertEquals(new Revocations.UserRevoked(tenant, "erin", cutoff), next(heard));
    }

    @Test
    void aNoticeConcernsTheMatchingPrincipalsOnly() {
        Principal p = token("frank", "j-9", Instant.parse("2030-01-01T00:00:00Z"));
        assertTrue(Revocations.concerns(new Revocations.TokenRevoked(tenant, "j-9"), p));
        assertFalse(Revocations.concerns(new Revocations.TokenRevoked(tenant, "j-8"), p));
        assertTrue(Revocations.concerns(new Revocations.UserRevoked(tenant, "frank",
                Instant.parse("2030-01-02T00:00:00Z")), p));
        assertFalse(Revocations.concerns(new Revocations.UserRevoked(tenant, "frank",
                Instant.parse("2029-12-31T00:00:00Z")), p));
        assertTrue(Revocations.concerns(new Revocations.UserDisconnected(tenant, "frank"), p));
        assertFalse(Revocations.concerns(new Revocations.UserDisconnected(tenant + "x", "frank"), p));
    }

    private static Revocations.Notice next(BlockingQueue<Revocations.Notice> q) throws InterruptedException {
        Revocations.Notice n = q.poll(1, TimeUnit.SECONDS);
        assertNotNull(n, "no notice within a second");
        return n;
    }
}
