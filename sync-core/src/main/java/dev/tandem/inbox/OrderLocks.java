package dev.tandem.inbox;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.channel.ChannelKey;

/** Per-channel local locks for {@link Inbox#orderLock}; a fixed set of stripes bounds memory. */
final class OrderLocks {
    private static final int STRIPES = 256;
    private static final ConcurrentHashMap<Integer, ReentrantLock> LOCKS = new ConcurrentHashMap<>();

    private OrderLocks() {
    }

    static Lock local(ChannelKey channel) {
        return LOCKS.computeIfAbsent(Math.floorMod(channel.hashCode(), STRIPES), k -> new ReentrantLock());
    }
}
