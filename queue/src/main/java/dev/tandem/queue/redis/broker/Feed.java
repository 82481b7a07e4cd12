package dev.tandem.queue.redis.broker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;

/**
 * This node's view of one channel's live stream: sequences shard-channel messages (dropping
 * duplicates) and hands them to the hub. The fields below the lock are guarded by it; the
 * lock only orders hand-overs to the hub, which never block, so no Redis call is made under it.
 */
final class Feed {
    private static final System.Logger LOG = System.getLogger(Feed.class.getName());
    /** Recent publications kept to hand to joiners who read an older top. */
    static final int RECENT = 1024;

    final ChannelKey channel;
    final ReentrantLock lock = new ReentrantLock();
    /** Completes once this node listens to the channel's shard channel. */
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    /** Local subscriptions using this feed; guarded by the broker's feeds map. */
    int refs;
    volatile int listenerId;
    volatile int statusListenerId;

    boolean initialized;
    boolean retired;
    String epoch;
    long last;
    private final Hub hub;
    private final ArrayDeque<Publication> recent = new ArrayDeque<>();
    private final List<Publication> early = new ArrayList<>();

    Feed(ChannelKey channel, Hub hub) {
        this.channel = channel;
        this.hub = hub;
    }

    /** Stops handing anything on; what still arrives is ignored. */
    void retire() {
        lock.lock();
        try {
            retired = true;
            early.clear();
            recent.clear();
        } finally {
            lock.unlock();
        }
    }

    /** Keeps a message that arrived before the feed knew its starting offset. Under the lock. */
    void holdEarly(Publication p) {
        early.add(p);
    }

    /** The last delivered offset when {@code p} comes after a gap in the feed's epoch, else -1. */
    long gapBefore(Publication p) {
        if (p.position().isEmpty()) {
            return -1;
        }
        Position pos = p.position().get();
        if (!pos.epoch().equals(epoch)) {
            // a new epoch: everything of it before this message must come first
            return pos.offset() > 1 ? 0 : -1;
        }
        return pos.offset() > last + 1 ? last : -1;
    }

    /** Hands on buffered messages that arrived before the feed knew its starting offset. Under the lock. */
    void drainEarly() {
        for (Publication p : early) {
            deliver(p);
        }
        early.clear();
    }

    /** The delivered publications with offsets in (after, upTo], if the buffer still has them all. Under the lock. */
    Optional<List<Publication>> recentAfter(long after, long upTo) {
        if (upTo <= after) {
            return Optional.of(List.of());
        }
        List<Publication> out = new ArrayList<>();
        for (Publication p : recent) {
            long o = p.position().orElseThrow().offset();
            if (o > after && o <= upTo) {
                out.add(p);
            }
        }
        return out.size() == upTo - after ? Optional.of(out) : Optional.empty();
    }

    /** Hands one publication to the hub unless it was delivered already. Under the lock. */
    void deliver(Publication p) {
        if (p.position().isPresent()) {
            Position pos = p.position().get();
            if (!pos.epoch().equals(epoch)) {
                // the channel started over in a new epoch (its keys vanished, or its shard failed over)
                LOG.log(System.Logger.Level.INFO, channel + " moved to epoch " + pos.epoch());
                epoch = pos.epoch();
                recent.clear();
            } else if (pos.offset() <= last) {
                return; // already delivered, or read from the history by a joining subscriber
            } else if (pos.offset() > last + 1) {
                LOG.log(System.Logger.Level.WARNING, channel + ": live messages " + (last + 1) + ".."
                        + (pos.offset() - 1) + " were lost and are not in the history any more; "
                        + "clients see the gap in the offsets and recover by resubscribing");
            }
            last = pos.offset();
            recent.addLast(p);
            if (recent.size() > RECENT) {
                recent.removeFirst();
            }
        }
        hub.deliver(p);
    }
}
