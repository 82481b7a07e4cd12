package dev.tandem.presence.redis;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.presence.Member;
import dev.tandem.presence.PresenceLimits;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisException;
import org.redisson.client.codec.StringCodec;

/**
 * The presence store of cluster mode, in Redis, shared by all nodes: a user's tabs on different
 * nodes are one member, and a node that dies takes its users offline within the TTL because
 * every connection carries its own expiry time.
 *
 * <p>Layout per channel, all keys in the channel's hash slot ({@code {tenant/name}}):
 * <ul>
 *   <li>{@code tandem:{t/ch}:presence}: sorted set, user by the latest expiry of its connections
 *       (ms); members are the users scored above now, {@link #expire} takes those at or below</li>
 *   <li>{@code tandem:{t/ch}:presence:u:USER}: hash, connection id to its expiry (ms)</li>
 *   <li>{@code tandem:{t/ch}:presence:state}: hash, user to state JSON</li>
 *   <li>{@code tandem:{t/ch}:presence:seen}: hash, user to last seen (ms)</li>
 * </ul>
 * Each operation is one Lua script, so join/leave answers are exact with any number of nodes,
 * and {@link #expire} reports a user to one caller only. Redisson's script cache (on by default,
 * {@code Config.useScriptCache}) sends a script's SHA ({@code EVALSHA}) rather than its text and
 * loads it again when Redis forgot it ({@code NOSCRIPT} after a restart or {@code SCRIPT FLUSH}). Expiry times come from the caller's
 * clock (run NTP on the nodes). As a backstop against garbage when no node is left to call
 * {@link #expire}, the keys themselves expire {@value #KEY_TTL_FACTOR} TTLs after the last write.
 */
public final class RedisPresenceStore implements PresenceStore {
    private static final System.Logger LOG = System.getLogger(RedisPresenceStore.class.getName());
    static final int KEY_TTL_FACTOR = 10;

    private static final String EXPIRE_KEYS = """
            local function touch(ttl)
              for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
            end
            """;

    /* KEYS: users, user's connections, state, seen. ARGV: user, conn, now, expires, state, has state, key ttl. */
    private static final String JOIN = EXPIRE_KEYS + """
            local now = tonumber(ARGV[3])
            local conns = redis.call('HGETALL', KEYS[2])
            local others = 0
            local self = false
            for i = 1, #conns, 2 do
              local live = tonumber(conns[i + 1]) > now
              if conns[i] == ARGV[2] then self = live elseif live then others = others + 1 end
            end
            redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
            redis.call('ZADD', KEYS[1], 'GT', ARGV[4], ARGV[1])
            redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
            if ARGV[6] == '1' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[5]) end
            touch(ARGV[7])
            if others == 0 and not self then return 1 end
            return 0
            """;

    /* KEYS: users, user's connections, state, seen. ARGV: user, conn, now. */
    private static final String LEAVE = """
            if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return 0 end
            local now = tonumber(ARGV[3])
            local conns = redis.call('HGETALL', KEYS[2])
            local live = 0
            local newest = 0
            for i = 2, #conns, 2 do
              local e = tonumber(conns[i])
              if e > now then live = live + 1 end
              if e > newest then newest = e end
            end
            if live == 0 then
              redis.call('DEL', KEYS[2])
              redis.call('ZREM', KEYS[1], ARGV[1])
              redis.call('HDEL', KEYS[3], ARGV[1])
              redis.call('HDEL', KEYS[4], ARGV[1])
              return 1
            end
            redis.call('ZADD', KEYS[1], newest, ARGV[1])
            return 0
            """;

    /* KEYS: users, user's connections, state, seen. ARGV: user, conn, now, expires, key ttl. */
    private static final String HEARTBEAT = EXPIRE_KEYS + """
            local e = redis.call('HGET', KEYS[2], ARGV[2])
            if not e or tonumber(e) <= tonumber(ARGV[3]) then return 0 end
            redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
            redis.call('ZADD', KEYS[1], 'GT', ARGV[4], ARGV[1])
            redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
            touch(ARGV[5])
            return 1
            """;

    /* KEYS: users, user's connections, state, seen. ARGV: user, conn, now, state. Returns live connections or 0. */
    private static final String SET_STATE = """
            local now = tonumber(ARGV[3])
            local e = redis.call('HGET', KEYS[2], ARGV[2])
            if not e or tonumber(e) <= now then return 0 end
            redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
            redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
            local conns = redis.call('HVALS', KEYS[2])
            local live = 0
            for i = 1, #conns do if tonumber(conns[i]) > now then live = live + 1 end end
            return live
            """;

    /*
     * KEYS: users, state, seen. ARGV: now. Returns user, live connections, state ('' if none), seen
     * for each user with a live connection. The per-user hashes share the channel's hash tag.
     */
    private static final String MEMBERS = """
            local now = tonumber(ARGV[1])
            local users = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
            local out = {}
            for _, u in ipairs(users) do
              local conns = redis.call('HVALS', KEYS[1] .. ':u:' .. u)
              local live = 0
              for i = 1, #conns do if tonumber(conns[i]) > now then live = live + 1 end end
              if live > 0 then
                table.insert(out, u)
                table.insert(out, tostring(live))
                table.insert(out, redis.call('HGET', KEYS[2], u) or '')
                table.insert(out, redis.call('HGET', KEYS[3], u) or '0')
              end
            end
            return out
            """;

    /* KEYS: users, state, seen. ARGV: now. Removes and returns the users whose connections all expired. */
    private static final String EXPIRE = """
            local users = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
            for _, u in ipairs(users) do
              redis.call('DEL', KEYS[1] .. ':u:' .. u)
              redis.call('ZREM', KEYS[1], u)
              redis.call('HDEL', KEYS[2], u)
              redis.call('HDEL', KEYS[3], u)
            end
            return users
            """;

    private final RScript scripts;
    private final PresenceLimits limits;
    private final Clock clock;
    private final String keyTtl;

    /** A store on {@code redisson} with {@code limits}, stamping expiry with {@code clock}. */
    public RedisPresenceStore(RedissonClient redisson, PresenceLimits limits, Clock clock) {
        Objects.requireNonNull(redisson, "redisson");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.scripts = redisson.getScript(StringCodec.INSTANCE);
        Duration backstop = limits.ttl().multipliedBy(KEY_TTL_FACTOR);
        this.keyTtl = String.valueOf(Math.max(backstop.toMillis(), Duration.ofMinutes(1).toMillis()));
    }

    /** A store with the default limits and the system clock. */
    public static RedisPresenceStore create(RedissonClient redisson) {
        return new RedisPresenceStore(redisson, PresenceLimits.defaults(), Clock.systemUTC());
    }

    @Override
    public boolean join(ChannelKey channel, String user, String connectionId, Optional<JsonNode> state) {
        Objects.requireNonNull(connectionId, "connectionId");
        Optional<String> json = state.map(limits::encodeState); // refuses before anything changes
        Instant now = clock.instant();
        Long first = redis(() -> eval(JOIN, RScript.ReturnType.LONG, userKeys(channel, user), user,
                connectionId, ms(now), ms(now.plus(limits.ttl())), json.orElse(""), json.isPresent() ? "1" : "0",
                keyTtl));
        return first == 1L;
    }

    @Override
    public boolean leave(ChannelKey channel, String user, String connectionId) {
        Long last = redis(() -> eval(LEAVE, RScript.ReturnType.LONG, userKeys(channel, user), user,
                connectionId, ms(clock.instant())));
        return last == 1L;
    }

    @Override
    public boolean heartbeat(ChannelKey channel, String user, String connectionId) {
        Instant now = clock.instant();
        Long alive = redis(() -> eval(HEARTBEAT, RScript.ReturnType.LONG, userKeys(channel, user), user,
                connectionId, ms(now), ms(now.plus(limits.ttl())), keyTtl));
        return alive == 1L;
    }

    @Override
    public Member setState(ChannelKey channel, String user, String connectionId, JsonNode state) {
        String json = limits.encodeState(state);
        Instant now = clock.instant();
        Long live = redis(() -> eval(SET_STATE, RScript.ReturnType.LONG, userKeys(channel, user), user,
                connectionId, ms(now), json));
        if (live == 0L) {
            throw new ProtocolException(ErrorCode.NOT_FOUND, user + " is not present on " + channel.name());
        }
        return new Member(user, live.intValue(), Optional.of(PresenceLimits.decodeState(json)),
                Instant.ofEpochMilli(now.toEpochMilli()));
    }

    @Override
    public List<Member> members(ChannelKey channel) {
        List<Object> flat = redis(() -> eval(MEMBERS, RScript.ReturnType.LIST, channelKeys(channel),
                ms(clock.instant())));
        List<Member> members = new ArrayList<>(flat.size() / 4);
        for (int i = 0; i + 3 < flat.size(); i += 4) {
            String state = String.valueOf(flat.get(i + 2));
            members.add(new Member(String.valueOf(flat.get(i)), Integer.parseInt(String.valueOf(flat.get(i + 1))),
                    state.isEmpty() ? Optional.empty() : Optional.of(PresenceLimits.decodeState(state)),
                    Instant.ofEpochMilli(Long.parseLong(String.valueOf(flat.get(i + 3))))));
        }
        members.sort(Comparator.comparing(Member::user));
        return members;
    }

    @Override
    public List<String> expire(ChannelKey channel) {
        List<Object> users = redis(() -> eval(EXPIRE, RScript.ReturnType.LIST, channelKeys(channel),
                ms(clock.instant())));
        return users.stream().map(String::valueOf).sorted().toList();
    }

    @Override
    public PresenceLimits limits() {
        return limits;
    }

    private <R> R eval(String script, RScript.ReturnType type, List<Object> keys, Object... args) {
        return scripts.eval(RScript.Mode.READ_WRITE, script, type, keys, args);
    }

    static String users(ChannelKey channel) {
        return "tandem:{" + channel + "}:presence";
    }

    private static List<Object> userKeys(ChannelKey channel, String user) {
        Objects.requireNonNull(user, "user");
        String base = users(channel);
        return List.of(base, base + ":u:" + user, base + ":state", base + ":seen");
    }

    private static List<Object> channelKeys(ChannelKey channel) {
        String base = users(channel);
        return List.of(base, base + ":state", base + ":seen");
    }

    private static String ms(Instant t) {
        return String.valueOf(t.toEpochMilli());
    }

    private static <T> T redis(Supplier<T> call) {
        try {
            return call.get();
        } catch (RedisException e) {
            LOG.log(System.Logger.Level.WARNING, "Redis call failed", e);
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "presence is unavailable, retry");
        }
    }
}
