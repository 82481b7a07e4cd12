package dev.tandem.presence;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The presence store of standalone mode, in memory. One lock per channel (nothing blocks under
 * it); a channel without users is forgotten.
 *
 * <p>Expired connections are not removed by reads: they stay invisible until {@link #expire}
 * removes them and reports the users that went with them, so each leave is reported once.
 */
public final class MemoryPresenceStore implements PresenceStore {
    private final Map<ChannelKey, Room> rooms = new ConcurrentHashMap<>();
    private final PresenceLimits limits;
    private final Clock clock;

    /** A store with {@code limits}, reading time from {@code clock}. */
    public MemoryPresenceStore(PresenceLimits limits, Clock clock) {
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** A store with the default limits and the system clock. */
    public static MemoryPresenceStore create() {
        return new MemoryPresenceStore(PresenceLimits.defaults(), Clock.systemUTC());
    }

    @Override
    public boolean join(ChannelKey channel, String user, String connectionId, Optional<JsonNode> state) {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(connectionId, "connectionId");
        Optional<JsonNode> checked = state.map(s -> {
            limits.encodeState(s); // refuses before anything changes
            return s.deepCopy();
        });
        Instant now = clock.instant();
        Room room = lockedRoom(channel);
        try {
            Presence p = room.users.computeIfAbsent(user, u -> new Presence(now));
            boolean first = p.live(now, connectionId) == 0 && !p.isLive(connectionId, now);
            p.connections.put(connectionId, now.plus(limits.ttl()));
            p.seen = now;
            if (checked.isPresent()) {
                p.state = checked;
            }
            return first;
        } finally {
            room.lock.unlock();
        }
    }

    @Override
    public boolean leave(ChannelKey channel, String user, String connectionId) {
        Instant now = clock.instant();
        Room room = lockedRoom(channel);
        try {
            Presence p = room.users.get(user);
            if (p == null || p.connections.remove(connectionId) == null) {
                return false;
            }
            if (p.live(now, null) == 0) {
                room.users.remove(user);
                return true;
            }
            return false;
        } finally {
            room.forgetIfEmpty(channel); // a lookup must not leave an empty room behind
            room.lock.unlock();
        }
    }

    @Override
    public boolean heartbeat(ChannelKey channel, String user, String connectionId) {
        Instant now = clock.instant();
        Room room = lockedRoom(channel);
        try {
            Presence p = room.users.get(user);
            if (p == null || !p.isLive(connectionId, now)) {
                return false;
            }
            p.connections.put(connectionId, now.plus(limits.ttl()));
            p.seen = now;
            return true;
        } finally {
            room.forgetIfEmpty(channel); // a lookup must not leave an empty room behind
            room.lock.unlock();
        }
    }

    @Override
    public Member setState(ChannelKey channel, String user, String connectionId, JsonNode state) {
        limits.encodeState(state);
        JsonNode copy = state.deepCopy();
        Instant now = clock.instant();
        Room room = lockedRoom(channel);
        try {
            Presence p = room.users.get(user);
            if (p == null || !p.isLive(connectionId, now)) {
                throw new ProtocolException(ErrorCode.NOT_FOUND, user + " is not present on " + channel.name());
            }
            p.state = Optional.of(copy);
            p.seen = now;
            return p.member(user, now);
        } finally {
            room.forgetIfEmpty(channel); // a lookup must not leave an empty room behind
            room.lock.unlock();
        }
    }

    @Override
    public List<Member> members(ChannelKey channel) {
        Room room = rooms.get(channel);
        if (room == null) {
            return List.of();
        }
        Instant now = clock.instant();
        room.lock.lock();
        try {
            Map<String, Member> sorted = new TreeMap<>();
            for (Map.Entry<String, Presence> e : room.users.entrySet()) {
                if (e.getValue().live(now, null) > 0) {
                    sorted.put(e.getKey(), e.getValue().member(e.getKey(), now));
                }
            }
            return List.copyOf(sorted.values());
        } finally {
            room.lock.unlock();
        }
    }

    @Override
    public List<String> expire(ChannelKey channel) {
        Room room = rooms.get(channel);
        if (room == null) {
            return List.of();
        }
        Instant now = clock.instant();
        room.lock.lock();
        try {
            List<String> gone = new ArrayList<>();
            for (Iterator<Map.Entry<String, Presence>> it = room.users.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Presence> e = it.next();
                if (e.getValue().live(now, null) == 0) {
                    it.remove();
                    gone.add(e.getKey());
                }
            }
            room.forgetIfEmpty(channel);
            gone.sort(null);
            return gone;
        } finally {
            room.lock.unlock();
        }
    }

    @Override
    public PresenceLimits limits() {
        return limits;
    }

    /** How many channels have presence in memory. */
    public int channelCount() {
        return rooms.size();
    }

    /** The channel's room, locked; retries if a concurrent forget removed the one it found. */
    private Room lockedRoom(ChannelKey channel) {
        while (true) {
            Room room = rooms.computeIfAbsent(channel, k -> new Room());
            room.lock.lock();
            if (!room.forgotten) {
                return room;
            }
            room.lock.unlock();
        }
    }

    /** One channel's presence; guarded by its lock. */
    private final class Room {
        private final ReentrantLock lock = new ReentrantLock();
        private final Map<String, Presence> users = new HashMap<>();
        private boolean forgotten;

        private void forgetIfEmpty(ChannelKey channel) {
            if (users.isEmpty()) {
                forgotten = true;
                rooms.remove(channel, this);
            }
        }
    }

    /** One user on a channel: connection id to expiry. */
    private static final class Presence {
        private final Map<String, Instant> connections = new HashMap<>();
        private Optional<JsonNode> state = Optional.empty();
        private Instant seen;

        private Presence(Instant seen) {
            this.seen = seen;
        }

        private boolean isLive(String connectionId, Instant now) {
            Instant expires = connections.get(connectionId);
            return expires != null && expires.isAfter(now);
        }

        /** Live connections other than {@code except}. */
        private int live(Instant now, String except) {
            int n = 0;
            for (Map.Entry<String, Instant> e : connections.entrySet()) {
                if (e.getValue().isAfter(now) && !e.getKey().equals(except)) {
                    n++;
                }
            }
            return n;
        }

        private Member member(String user, Instant now) {
            return new Member(user, live(now, null), state.map(JsonNode::deepCopy), seen);
        }
    }
}
