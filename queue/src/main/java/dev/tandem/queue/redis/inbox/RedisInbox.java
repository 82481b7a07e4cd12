package dev.tandem.queue.redis.inbox;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.inbox.AckResult;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.LuaScripts;
import dev.tandem.queue.redis.RedisCalls;
import dev.tandem.queue.redis.RedisSettings;
import dev.tandem.queue.redis.Wire;

import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;

/**
 * The inbox of cluster mode: each user's pending messages in a Redis stream shared by all
 * nodes, so any device of the user on any node sees (and acknowledges) the same messages.
 *
 * <p>Layout (see {@link Keys}): the stream {@code tandem:{t/user:u}:inbox} holds one entry per
 * message with the id {@code GEN-OFFSET}, where GEN counts the channel's epochs as the inbox saw
 * them; so entries sort by epoch and then offset, and a cumulative acknowledgement is a single
 * {@code XTRIM MINID GEN-(OFFSET+1)}. The hash {@code tandem:{t/user:u}:inbox:meta} keeps the
 * current epoch, GEN and the newest offset. Every operation is one Lua script, so nodes never see
 * half an update. Expiry: each entry carries its expiry time (from this node's clock, so all
 * nodes should run NTP); expired entries are pruned from the front by every script, and both keys
 * expire a TTL after the last append.
 */
public final class RedisInbox implements Inbox {
    private static final System.Logger LOG = System.getLogger(RedisInbox.class.getName());
    /** Entries pruned per call at most, so one call never runs long; the rest go on the next. */
    private static final int PRUNE_BATCH = 1000;
    private static final String WHAT = "the inbox store";

    private static final String PRUNE = """
            local function prune(now)
              for i = 1, %d do
                local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
                if #first == 0 then return end
                local f = first[1][2]
                local expires = 0
                for j = 1, #f, 2 do if f[j] == 'x' then expires = tonumber(f[j + 1]) end end
                if expires > now then return end
                redis.call('XDEL', KEYS[1], first[1][1])
              end
            end
            """.formatted(PRUNE_BATCH);

    /* KEYS: inbox, meta. ARGV: epoch, offset, expires ms, body, ttl ms, now ms. */
    private static final String APPEND = PRUNE + """
            prune(tonumber(ARGV[6]))
            local epoch = redis.call('HGET', KEYS[2], 'epoch')
            local gen = tonumber(redis.call('HGET', KEYS[2], 'gen') or '0')
            local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')
            if not epoch then
              -- no meta (never used, or lost): continue after the stream's newest entry, if any
              local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
              if #last > 0 then gen = tonumber(string.match(last[1][1], '^(%d+)')) end
            end
            local offset = tonumber(ARGV[2])
            if epoch ~= ARGV[1] then
              gen = gen + 1
              top = 0
              redis.call('HSET', KEYS[2], 'epoch', ARGV[1], 'gen', gen, 'top', 0)
            end
            if offset <= top then return 0 end
            redis.call('XADD', KEYS[1], gen .. '-' .. offset, 'x', ARGV[3], 'e', ARGV[1], 'p', ARGV[4])
            redis.call('HSET', KEYS[2], 'top', offset)
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            redis.call('PEXPIRE', KEYS[2], ARGV[5])
            return 1
            """;

    /* KEYS: inbox, meta. ARGV: now ms. */
    private static final String PENDING = PRUNE + """
            prune(tonumber(ARGV[1]))
            return redis.call('XRANGE', KEYS[1], '-', '+')
            """;

    /* KEYS: inbox, meta. ARGV: now ms. */
    private static final String DEPTH = PRUNE + """
            prune(tonumber(ARGV[1]))
            return redis.call('XLEN', KEYS[1])
            """;

    /* KEYS: inbox, meta. ARGV: offset, now ms. Returns {acknowledged, remaining} or {-1, top}. */
    private static final String ACK = PRUNE + """
            prune(tonumber(ARGV[2]))
            local gen = redis.call('HGET', KEYS[2], 'gen')
            local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')
            local offset = tonumber(ARGV[1])
            if not gen or offset > top then return {-1, top} end
            local removed = redis.call('XTRIM', KEYS[1], 'MINID', gen .. '-' .. (offset + 1))
            return {removed, redis.call('XLEN', KEYS[1])}
            """;

    private final RedissonClient redisson;
    private final LuaScripts scripts;
    private final Wire wire;
    private final Duration ttl;
    private final Clock clock;
    private final Duration budget;

    /** An inbox on {@code redisson} keeping messages for {@code ttl}, stamping expiry with {@code clock}. */
    public RedisInbox(RedissonClient redisson, Duration ttl, Clock clock) {
        this(redisson, ttl, RedisSettings.DEFAULT_BUDGET, clock);
    }

    /**
     * As {@link #RedisInbox(RedissonClient, Duration, Clock)}; taking the append order lock waits
     * at most {@code budget} ({@code tandem.redis.timeout-budget}) for another node to release it.
     */
    public RedisInbox(RedissonClient redisson, Duration ttl, Duration budget, Clock clock) {
        Objects.requireNonNull(redisson, "redisson");
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(clock, "clock");
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("inbox ttl must be positive");
        }
        this.redisson = redisson;
        this.scripts = new LuaScripts(redisson);
        this.wire = new Wire(FrameCodec.create().mapper());
        this.ttl = ttl;
        this.clock = clock;
        this.budget = Objects.requireNonNull(budget, "budget");
    }

    /**
     * A cluster-wide lock per user channel (Redisson), so every node appends in offset order.
     * Taking it while Redis fails throws {@link ProtocolException} {@code UNAVAILABLE}, like every
     * other Redis call; releasing it while Redis fails is logged, and the lock's lease (30 s)
     * frees it.
     */
    @Override
    public java.util.concurrent.locks.Lock orderLock(ChannelKey userChannel) {
        return new OrderLock(userChannel, redisson.getLock(Keys.inboxOrder(userChannel)), budget);
    }

    /** Redisson's lock with Redis failures turned into the protocol's transient error. */
    private record OrderLock(ChannelKey channel, java.util.concurrent.locks.Lock redisLock, Duration budget)
            implements java.util.concurrent.locks.Lock {
        /** Waits at most the budget: a lock another node holds too long is answered as unavailable, not waited out. */
        @Override
        public void lock() {
            boolean taken = RedisCalls.call(WHAT, () -> {
                try {
                    return redisLock.tryLock(budget.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            });
            if (!taken) {
                LOG.log(System.Logger.Level.WARNING, "the inbox order lock of " + channel + " was not free within "
                        + budget.toMillis() + " ms: answered unavailable");
                throw new ProtocolException(ErrorCode.UNAVAILABLE, WHAT + " is busy, retry");
            }
        }

        @Override
        public void lockInterruptibly() throws InterruptedException {
            try {
                redisLock.lockInterruptibly();
            } catch (org.redisson.client.RedisException e) {
                throw unavailable(e);
            }
        }

        @Override
        public boolean tryLock() {
            return RedisCalls.call(WHAT, redisLock::tryLock);
        }

        @Override
        public boolean tryLock(long time, java.util.concurrent.TimeUnit unit) throws InterruptedException {
            try {
                return redisLock.tryLock(time, unit);
            } catch (org.redisson.client.RedisException e) {
                throw unavailable(e);
            }
        }

        @Override
        public void unlock() {
            try {
                redisLock.unlock();
            } catch (org.redisson.client.RedisException e) {
                LOG.log(System.Logger.Level.WARNING, "cannot release the inbox order lock of " + channel
                        + "; its lease frees it", e);
            }
        }

        @Override
        public java.util.concurrent.locks.Condition newCondition() {
            throw new UnsupportedOperationException("no conditions on the inbox order lock");
        }

        private static ProtocolException unavailable(RuntimeException e) {
            return RedisCalls.unavailable(WHAT, e);
        }
    }

    /** An inbox with the default TTL (24 h) and the system clock. */
    public static RedisInbox create(RedissonClient redisson) {
        return new RedisInbox(redisson, DEFAULT_TTL, Clock.systemUTC());
    }

    @Override
    public void append(ChannelKey userChannel, Publication publication) {
        Inbox.checkAppend(userChannel, publication);
        Position position = publication.position().orElseThrow();
        Instant now = clock.instant();
        String body = wire.body(publication.type(), publication.eventId(), publication.time(), publication.from(),
                publication.data());
        RedisCalls.call(WHAT, () -> scripts.<Long>eval(APPEND, RScript.ReturnType.LONG, keys(userChannel),
                position.epoch(), String.valueOf(position.offset()), String.valueOf(now.plus(ttl).toEpochMilli()),
                body, String.valueOf(ttl.toMillis()), String.valueOf(now.toEpochMilli())));
    }

    @Override
    public List<Publication> pending(String tenant, String user) {
        ChannelKey channel = Inbox.channel(tenant, user);
        List<Object> entries = RedisCalls.call(WHAT, () -> scripts.eval(PENDING, RScript.ReturnType.LIST, keys(channel),
                String.valueOf(clock.millis())));
        List<Publication> out = new ArrayList<>(entries.size());
        for (Object entry : entries) {
            List<?> e = (List<?>) entry;
            String id = String.valueOf(e.get(0));
            long offset = Long.parseLong(id.substring(id.indexOf('-') + 1));
            List<?> fields = (List<?>) e.get(1);
            out.add(wire.decode(channel, Optional.of(new Position(field(fields, "e"), offset)), field(fields, "p")));
        }
        return out;
    }

    @Override
    public AckResult ack(String tenant, String user, long offset) {
        if (offset < 1) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "ack offsets start at 1");
        }
        ChannelKey channel = Inbox.channel(tenant, user);
        List<Object> r = RedisCalls.call(WHAT, () -> scripts.eval(ACK, RScript.ReturnType.LIST, keys(channel),
                String.valueOf(offset), String.valueOf(clock.millis())));
        long first = ((Number) r.get(0)).longValue();
        long second = ((Number) r.get(1)).longValue();
        if (first < 0) {
            throw new ProtocolException(ErrorCode.NOT_FOUND, "no inbox message at offset " + offset
                    + (second > 0 ? " (newest is " + second + ")" : " (the inbox is empty)"));
        }
        return new AckResult((int) first, (int) second);
    }

    @Override
    public int depth(String tenant, String user) {
        Long n = RedisCalls.call(WHAT, () -> scripts.eval(DEPTH, RScript.ReturnType.LONG,
                keys(Inbox.channel(tenant, user)), String.valueOf(clock.millis())));
        return n.intValue();
    }

    @Override
    public java.util.Optional<String> epoch(String tenant, String user) {
        String epoch = RedisCalls.call(WHAT, () -> redisson.<String, String>getMap(
                Keys.inboxMeta(Inbox.channel(tenant, user)), org.redisson.client.codec.StringCodec.INSTANCE).get("epoch"));
        return java.util.Optional.ofNullable(epoch);
    }

    @Override
    public Duration ttl() {
        return ttl;
    }

    private static List<Object> keys(ChannelKey userChannel) {
        return List.of(Keys.inbox(userChannel), Keys.inboxMeta(userChannel));
    }

    private static String field(List<?> fields, String name) {
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            if (name.equals(String.valueOf(fields.get(i)))) {
                return String.valueOf(fields.get(i + 1));
            }
        }
        throw new IllegalArgumentException("inbox entry without field " + name);
    }
}
