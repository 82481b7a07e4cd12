package dev.tandem.session;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Connections counted per key (a tenant, a client address) under a cap; keys at zero are forgotten. */
final class Caps {
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

    /** Counts one more for {@code key} unless it has {@code max} already (0: no cap); false when refused. */
    boolean acquire(String key, int max) {
        boolean[] admitted = new boolean[1];
        counts.compute(key, (k, n) -> {
            AtomicInteger count = n == null ? new AtomicInteger() : n;
            if (max == 0 || count.get() < max) {
                count.incrementAndGet();
                admitted[0] = true;
            }
            return count.get() == 0 ? null : count;
        });
        return admitted[0];
    }

    /** Counts one less for {@code key}. */
    void release(String key) {
        counts.computeIfPresent(key, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    int count(String key) {
        AtomicInteger n = counts.get(key);
        return n == null ? 0 : n.get();
    }
}
