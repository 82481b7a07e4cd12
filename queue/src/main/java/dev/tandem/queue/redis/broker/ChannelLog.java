package dev.tandem.queue.redis.broker;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.Namespace;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.Position;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.LuaScripts;
import dev.tandem.queue.redis.RedisCalls;
import dev.tandem.queue.redis.Wire;

import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * A channel's offsets, epoch and history in Redis, each operation one Lua script on the
 * channel's keys (one hash slot, so one shard of a cluster).
 *
 * <p>On a Redis Cluster every write also records which master made it ({@code CLUSTER MYID} in
 * the channel's {@code w} field). Replication is asynchronous: a master that dies may take its
 * newest writes with it, and its promoted replica would hand out their offsets again with other
 * publications, which clients that saw the lost ones would drop as duplicates. So when a script
 * finds the channel last written by another master, it starts a new epoch: everyone who resumes
 * is told {@code recovered: false} and re-reads, and no offset ever means two publications.
 * The same happens to channels moved by resharding (their history was not lost, but the script
 * cannot tell).
 */
final class ChannelLog {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Channel metadata (epoch, offset) outlives a short history so positions stay meaningful. */
    private static final Duration MIN_META_TTL = Duration.ofDays(1);
    private static final String WHAT = "the history store";

    /*
     * Shared start of both scripts. KEYS: meta, log, ids. ARGV[1]: a new epoch; ARGV[2]: '1' on a
     * cluster. Leaves `epoch` the channel's epoch, starting a new one (empty history, top 0) when
     * the channel has none, or when another master wrote it last (its newest writes may be lost).
     */
    private static final String EPOCH = """
            local epoch = redis.call('HGET', KEYS[1], 'epoch')
            local writer = ''
            if ARGV[2] == '1' then
              writer = redis.call('CLUSTER', 'MYID')
              local last = redis.call('HGET', KEYS[1], 'w')
              if epoch and last and last ~= writer then epoch = false end
              if last ~= writer then redis.call('HSET', KEYS[1], 'w', writer) end
            end
            if not epoch then
              epoch = ARGV[1]
              redis.call('DEL', KEYS[2], KEYS[3])
              redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
            end
            """;

    /*
     * ARGV: new epoch, cluster, history size, history ttl ms, meta ttl ms, shard channel, body,
     * event id given by the source ('' when none). A source event id seen among the channel's
     * recent publications returns that publication's position and publishes nothing again.
     * Takes the next offset, appends, and publishes, all in one atomic step.
     */
    private static final String PUBLISH = EPOCH + """
            if ARGV[8] ~= '' then
              local seen = redis.call('ZSCORE', KEYS[3], ARGV[8])
              if seen then return {epoch, tostring(seen), 'duplicate'} end
            end
            local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            if ARGV[8] ~= '' then
              redis.call('ZADD', KEYS[3], top, ARGV[8])
              redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', top - math.max(tonumber(ARGV[3]), 1000))
              redis.call('PEXPIRE', KEYS[3], ARGV[5])
            end
            local size = tonumber(ARGV[3])
            if size > 0 and tonumber(ARGV[4]) > 0 then
              redis.call('XADD', KEYS[2], 'MAXLEN', size, top .. '-0', 'p', ARGV[7])
              redis.call('PEXPIRE', KEYS[2], ARGV[4])
            end
            redis.call('SPUBLISH', ARGV[6], epoch .. '|' .. top .. '|' .. ARGV[7])
            return {epoch, tostring(top)}
            """;

    /*
     * ARGV: new epoch, cluster, meta ttl ms, epoch of the position to read after (or ''), offset to
     * read after. Returns {epoch, top, entries after the offset} in one consistent view.
     */
    private static final String READ = EPOCH + """
            if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
            local top = tonumber(redis.call('HGET', KEYS[1], 'top') or '0')
            local after = tonumber(ARGV[5])
            local entries = {}
            if ARGV[4] == epoch and after < top then
              entries = redis.call('XRANGE', KEYS[2], tostring(after + 1), '+')
            end
            return {epoch, tostring(top), entries}
            """;

    private final RedissonClient redisson;
    private final LuaScripts scripts;
    private final Wire wire;
    private final String cluster;

    ChannelLog(RedissonClient redisson, Wire wire) {
        this.redisson = redisson;
        this.scripts = new LuaScripts(redisson);
        this.wire = wire;
        this.cluster = redisson.getConfig().isClusterConfig() ? "1" : "0";
    }

    /** Where a durable publication landed; {@code duplicate} when its source event id was published before. */
    record Appended(Position position, boolean duplicate) {
    }

    /** The channel's state as one script saw it. */
    record Snapshot(String epoch, long top, List<Publication> entries) {
    }

    /** Appends a durable publication's body and publishes it on the channel's shard channel. */
    Appended append(ChannelKey channel, Namespace ns, String body, Optional<String> eventId) {
        List<Object> r = RedisCalls.call(WHAT, () -> scripts.eval(PUBLISH, RScript.ReturnType.LIST, keys(channel),
                newEpoch(), cluster, String.valueOf(ns.historySize()), String.valueOf(ns.historyTtl().toMillis()),
                String.valueOf(metaTtl(ns).toMillis()), Keys.live(channel), body, eventId.orElse("")));
        return new Appended(new Position((String) r.get(0), Long.parseLong(String.valueOf(r.get(1)))), r.size() > 2);
    }

    /** Publishes an ephemeral publication's body: shard channel only, no offset, no history. */
    void publishEphemeral(ChannelKey channel, String body) {
        RedisCalls.call(WHAT, () -> redisson.getShardedTopic(Keys.live(channel), StringCodec.INSTANCE)
                .publish(Wire.EPHEMERAL_PREFIX + body));
    }

    /** The epoch, the top offset and the history after {@code since} (when in the current epoch). */
    Snapshot read(ChannelKey channel, Namespace ns, Optional<Position> since) {
        List<Object> r = RedisCalls.call(WHAT, () -> scripts.eval(READ, RScript.ReturnType.LIST, keys(channel),
                newEpoch(), cluster, String.valueOf(metaTtl(ns).toMillis()), since.map(Position::epoch).orElse(""),
                String.valueOf(since.map(Position::offset).orElse(0L))));
        String epoch = (String) r.get(0);
        long top = Long.parseLong(String.valueOf(r.get(1)));
        List<Publication> entries = new ArrayList<>();
        if (r.size() > 2 && r.get(2) instanceof List<?> list) {
            for (Object entry : list) {
                List<?> e = (List<?>) entry;
                String id = String.valueOf(e.get(0));
                long offset = Long.parseLong(id.substring(0, id.indexOf('-')));
                String body = fieldValue((List<?>) e.get(1), "p");
                entries.add(wire.decode(channel, Optional.of(new Position(epoch, offset)), body));
            }
        }
        return new Snapshot(epoch, top, entries);
    }

    private static List<Object> keys(ChannelKey channel) {
        return List.of(Keys.meta(channel), Keys.log(channel), Keys.ids(channel));
    }

    private static String fieldValue(List<?> fields, String name) {
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            if (name.equals(String.valueOf(fields.get(i)))) {
                return String.valueOf(fields.get(i + 1));
            }
        }
        throw new IllegalArgumentException("history entry without field " + name);
    }

    private static Duration metaTtl(Namespace ns) {
        return ns.historyTtl().compareTo(MIN_META_TTL) > 0 ? ns.historyTtl() : MIN_META_TTL;
    }

    private static String newEpoch() {
        return dev.tandem.broker.Broker.newEpoch(RANDOM);
    }
}
