package dev.tandem.inbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;

/**
 * The inbox of standalone mode: each user's pending messages in memory, lost on restart.
 *
 * <p>One lock per user inbox, never held around anything that blocks. An inbox without pending
 * messages and without appends for a TTL is forgotten (on access and by {@link #sweep}), so memory
 * follows the users with pending messages; it then answers acknowledgements like an unknown inbox.
 *
 * <p>Each inbox holds at most {@code maxMessages} (default {@value #DEFAULT_MAX_MESSAGES}): when
 * it is full, the oldest pending message is dropped to make room, so a publication to a user is
 * never refused and memory stays bounded (a device that was away longer than that recovers the
 * rest from the channel's history, or is told {@code recovered: false}).
 */
public final class MemoryInbox implements Inbox {
    /** The default cap on pending messages per user. */
    public static final int DEFAULT_MAX_MESSAGES = 1000;

    private final Map<ChannelKey, Box> boxes = new ConcurrentHashMap<>();
    private final Duration ttl;
    private final int maxMessages;
    private final Clock clock;
    private final java.util.concurrent.atomic.AtomicLong dropped = new java.util.concurrent.atomic.AtomicLong();

    /** An inbox keeping messages for {@code ttl}, reading time from {@code clock}. */
    public MemoryInbox(Duration ttl, Clock clock) {
        this(ttl, DEFAULT_MAX_MESSAGES, clock);
    }

    /** An inbox keeping up to {@code maxMessages} per user for {@code ttl}, reading time from {@code clock}. */
    public MemoryInbox(Duration ttl, int maxMessages, Clock clock) {
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(clock, "clock");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("inbox ttl must be positive");
        }
        if (maxMessages < 1) {
            throw new IllegalArgumentException("inbox max-messages must be positive");
        }
        this.ttl = ttl;
        this.maxMessages = maxMessages;
        this.clock = clock;
    }

    /** How many pending messages were dropped because an inbox was full, since start. */
    public long dropped() {
        return dropped.get();
    }

    /** An inbox with the default TTL and the system clock. */
    public static MemoryInbox create() {
        return new MemoryInbox(DEFAULT_TTL, Clock.systemUTC());
    }

    @Override
    public void append(ChannelKey userChannel, Publication publication) {
        Inbox.checkAppend(userChannel, publication);
        Position position = publication.position().orElseThrow();
        Instant now = clock.instant();
        Box box = lockedBox(userChannel, true);
        try {
            box.prune(now);
            if (!position.epoch().equals(box.epoch)) {
                box.epoch = position.epoch();
                box.generation++;
                box.top = 0;
            }
            if (position.offset() <= box.top) {
                return; // already kept
            }
            box.top = position.offset();
            box.lastAppend = now;
            box.entries.addLast(new Entry(box.generation, publication, now.plus(ttl)));
            while (box.entries.size() > maxMessages) {
                box.entries.removeFirst(); // full: the oldest makes room
                dropped.incrementAndGet();
            }
        } finally {
            box.lock.unlock();
        }
    }

    @Override
    public List<Publication> pending(String tenant, String user) {
        Box box = lockedBox(Inbox.channel(tenant, user), false);
        if (box == null) {
            return List.of();
        }
        try {
            box.prune(clock.instant());
            return box.entries.stream().map(Entry::publication).toList();
        } finally {
            box.lock.unlock();
        }
    }

    @Override
    public AckResult ack(String tenant, String user, long offset) {
        if (offset < 1) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "ack offsets start at 1");
        }
        ChannelKey channel = Inbox.channel(tenant, user);
        Box box = lockedBox(channel, false);
        if (box == null) {
            throw unknown(offset, 0);
        }
        try {
            box.prune(clock.instant());
            if (offset > box.top) {
                throw unknown(offset, box.top);
            }
            int before = box.entries.size();
            for (Iterator<Entry> it = box.entries.iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.generation < box.generation
                        || e.publication.position().orElseThrow().offset() <= offset) {
                    it.remove();
                } else {
                    break; // entries are in append order: the rest are newer
                }
            }
            return new AckResult(before - box.entries.size(), box.entries.size());
        } finally {
            box.lock.unlock();
        }
    }

    @Override
    public int depth(String tenant, String user) {
        Box box = lockedBox(Inbox.channel(tenant, user), false);
        if (box == null) {
            return 0;
        }
        try {
            box.prune(clock.instant());
            return box.entries.size();
        } finally {
            box.lock.unlock();
        }
    }

    @Override
    public java.util.Optional<String> epoch(String tenant, String user) {
        Box box = lockedBox(Inbox.channel(tenant, user), false);
        if (box == null) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.ofNullable(box.epoch);
        } finally {
            box.lock.unlock();
        }
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    /**
     * Drops expired messages and forgets inboxes with nothing pending and no append for a TTL.
     *
     * @return how many inboxes were forgotten
     */
    public int sweep() {
        int forgotten = 0;
        Instant now = clock.instant();
        for (Iterator<Map.Entry<ChannelKey, Box>> it = boxes.entrySet().iterator(); it.hasNext(); ) {
            Box box = it.next().getValue();
            if (!box.lock.tryLock()) {
                continue;
            }
            try {
                box.prune(now);
                if (box.idle(now, ttl)) {
                    box.forgotten = true;
                    it.remove();
                    forgotten++;
                }
            } finally {
                box.lock.unlock();
            }
        }
        return forgotten;
    }

    private static ProtocolException unknown(long offset, long top) {
        return new ProtocolException(ErrorCode.NOT_FOUND, "no inbox message at offset " + offset
                + (top > 0 ? " (newest is " + top + ")" : " (the inbox is empty)"));
    }

    /**
     * The user's inbox, locked; null when absent and not to be created. An idle inbox found here
     * is forgotten, and a box forgotten by a concurrent sweep is not used (that would lose appends).
     */
    private Box lockedBox(ChannelKey channel, boolean create) {
        while (true) {
            Box box = create ? boxes.computeIfAbsent(channel, k -> new Box(clock.instant())) : boxes.get(channel);
            if (box == null) {
                return null;
            }
            box.lock.lock();
            if (box.forgotten) {
                box.lock.unlock();
                continue;
            }
            Instant now = clock.instant();
            box.prune(now);
            if (box.idle(now, ttl)) {
                box.forgotten = true;
                boxes.remove(channel, box);
                box.lock.unlock();
                continue;
            }
            return box;
        }
    }

    private record Entry(long generation, Publication publication, Instant expires) {
    }

    /** One user's inbox; guarded by its lock. */
    private static final class Box {
        private final ReentrantLock lock = new ReentrantLock();
        private final ArrayDeque<Entry> entries = new ArrayDeque<>();
        private String epoch;
        /** Counts epochs, so entries of older epochs sort (and are acknowledged) before newer ones. */
        private long generation;
        private long top;
        private Instant lastAppend;
        private boolean forgotten;

        private Box(Instant created) {
            this.lastAppend = created;
        }

        private void prune(Instant now) {
            while (!entries.isEmpty() && !entries.peekFirst().expires().isAfter(now)) {
                entries.removeFirst();
            }
        }

        private boolean idle(Instant now, Duration ttl) {
            return entries.isEmpty() && !lastAppend.plus(ttl).isAfter(now);
        }
    }
}
