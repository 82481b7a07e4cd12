package dev.tandem.auth;

import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * {@link Revocations} of one standalone node, in memory: revocations are kept until they lapse
 * (forgotten on the next look after that) and listeners are told at once, on the caller's thread.
 * Thread-safe.
 */
public final class MemoryRevocations implements Revocations {
    private static final System.Logger LOG = System.getLogger(MemoryRevocations.class.getName());

    private record Cutoff(Instant issuedBefore, Instant keepUntil) {
    }

    private final Clock clock;
    private final Map<String, Instant> tokens = new ConcurrentHashMap<>();
    private final Map<String, Cutoff> users = new ConcurrentHashMap<>();
    private final List<Consumer<Notice>> listeners = new CopyOnWriteArrayList<>();

    /** Revocations on the given clock. */
    public MemoryRevocations(Clock clock) {
        this.clock = clock;
    }

    @Override
    public void revokeToken(String tenant, String tokenId, Instant keepUntil) {
        sweep();
        tokens.merge(tenant + "\n" + tokenId, keepUntil, (a, b) -> a.isAfter(b) ? a : b);
        tell(new TokenRevoked(tenant, tokenId));
    }

    @Override
    public void revokeUser(String tenant, String user, Instant issuedBefore, Instant keepUntil) {
        sweep();
        users.merge(tenant + "\n" + user, new Cutoff(issuedBefore, keepUntil), (a, b) -> new Cutoff(
                a.issuedBefore().isAfter(b.issuedBefore()) ? a.issuedBefore() : b.issuedBefore(),
                a.keepUntil().isAfter(b.keepUntil()) ? a.keepUntil() : b.keepUntil()));
        tell(new UserRevoked(tenant, user, users.get(tenant + "\n" + user).issuedBefore()));
    }

    @Override
    public void disconnectUser(String tenant, String user) {
        tell(new UserDisconnected(tenant, user));
    }

    @Override
    public boolean revoked(Principal p) {
        Instant now = clock.instant();
        if (p.tokenId().isPresent()) {
            Instant until = tokens.get(p.tenant() + "\n" + p.tokenId().get());
            if (until != null && now.isBefore(until)) {
                return true;
            }
        }
        Cutoff c = users.get(p.tenant() + "\n" + p.user());
        return c != null && now.isBefore(c.keepUntil())
                && p.issuedAt().map(at -> at.isBefore(c.issuedBefore())).orElse(true);
    }

    @Override
    public void listen(Consumer<Notice> listener) {
        listeners.add(listener);
    }

    private void tell(Notice notice) {
        for (Consumer<Notice> l : listeners) {
            try {
                l.accept(notice);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a revocation listener failed", e);
            }
        }
    }

    private void sweep() {
        Instant now = clock.instant();
        tokens.values().removeIf(until -> !now.isBefore(until));
        users.values().removeIf(c -> !now.isBefore(c.keepUntil()));
    }

    @Override
    public void close() {
        listeners.clear();
    }
}
