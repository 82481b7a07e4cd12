package dev.tandem.queue.redis.revocations;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import org.redisson.api.BatchOptions;
import org.redisson.api.BatchResult;
import org.redisson.api.RBatch;
import org.redisson.api.RScript;
import org.redisson.api.RShardedTopic;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.RedisCalls;

/**
 * {@link Revocations} of a cluster in Redis: a revoked token id is a key that expires with the
 * token ({@code tandem:{tenant}:revoked:jti:{jti}}), a user's cutoff a key holding the latest
 * "issued before" in epoch milliseconds ({@code tandem:{tenant}:revoked:user:{user}}, kept until the
 * last token it names has expired); both keys of a tenant share its hash slot, so one read
 * checks a principal. Every revocation and disconnect is also published on the shard channel
 * {@link Keys#NOTICES}, which every node's instance hears (its own publications included) and
 * hands to its listeners, so connections close on all nodes within a second. A node that was
 * cut off from Redis during a notice still refuses the token at its next connect (the keys),
 * but does not close a connection it did not hear about.
 *
 * <p>It lives with the broker and the inboxes because it is the same kind of thing: records
 * every node must see, and notices every node must hear, on the same Redis client and the same
 * sharded pub/sub (whose probe puts readiness DOWN when a node stops hearing its shard).
 */
public final class RedisRevocations implements Revocations {
    private static final System.Logger LOG = System.getLogger(RedisRevocations.class.getName());
    private static final String WHAT = "revocations";
    /** How long a revocation waits for a replica of its shard to have it (cluster only). */
    static final Duration REPLICA_WAIT = Duration.ofSeconds(1);

    /** Sets the cutoff to the later of the stored and the new, and the expiry to the later too. */
    private static final String CUTOFF = """
            local old = redis.call('GET', KEYS[1])
            if (not old) or tonumber(old) < tonumber(ARGV[1]) then
              redis.call('SET', KEYS[1], ARGV[1])
            end
            local ttl = redis.call('PTTL', KEYS[1])
            if ttl < tonumber(ARGV[2]) then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return redis.call('GET', KEYS[1])
            """;

    /*
     * KEYS: a key, so the script runs on its master. Counts the replicas the cluster knows for
     * that master and does not consider failed, connected or not: any of them may be promoted.
     */
    private static final String REPLICAS = """
            local me = redis.call('CLUSTER', 'MYID')
            local n = 0
            for line in string.gmatch(redis.call('CLUSTER', 'NODES'), '[^\\n]+') do
              local flags, master = string.match(line, '^%S+ %S+ (%S+) (%S+)')
              if master == me and not string.find(flags, 'fail') then n = n + 1 end
            end
            return n
            """;

    private final RedissonClient redisson;
    private final RShardedTopic topic;
    private final Clock clock;
    private final boolean cluster;
    private final List<Consumer<Notice>> listeners = new CopyOnWriteArrayList<>();
    private final int subscription;

    /** Revocations on {@code redisson}, their lifetimes measured from {@code clock}. */
    public RedisRevocations(RedissonClient redisson, Clock clock) {
        this.redisson = Objects.requireNonNull(redisson, "redisson");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.cluster = redisson.getConfig().isClusterConfig();
        this.topic = redisson.getShardedTopic(Keys.NOTICES, StringCodec.INSTANCE);
        this.subscription = topic.addListener(String.class, (channel, message) -> received(message));
    }

    @Override
    public void revokeToken(String tenant, String tokenId, Instant keepUntil) {
        long ttl = ttl(keepUntil);
        String key = Keys.revokedToken(tenant, tokenId);
        write(key, batch -> batch.getBucket(key, StringCodec.INSTANCE).setAsync("1", Duration.ofMillis(ttl)));
        publish("t|" + tenant + "|" + tokenId);
    }

    @Override
    public void revokeUser(String tenant, String user, Instant issuedBefore, Instant keepUntil) {
        String key = Keys.revokedUser(tenant, user);
        Object cutoff = write(key, batch -> batch.getScript(StringCodec.INSTANCE).evalAsync(RScript.Mode.READ_WRITE,
                CUTOFF, RScript.ReturnType.VALUE, List.of(key), String.valueOf(issuedBefore.toEpochMilli()),
                String.valueOf(ttl(keepUntil))));
        publish("u|" + tenant + "|" + user + "|" + cutoff);
    }

    /**
     * Runs one write to {@code key}. On a cluster whose shard of the key has a replica, the write
     * counts only once a replica has it too ({@code WAIT}, at most {@link #REPLICA_WAIT}), so a
     * failover to that replica cannot forget an acknowledged revocation; when none confirms in
     * time it fails as unavailable (the caller retries). A shard without replicas has nothing to
     * fail over to. Returns the write's reply.
     */
    private Object write(String key, Consumer<RBatch> write) {
        boolean replicated = cluster && RedisCalls.call(WHAT, () -> redisson.getScript(StringCodec.INSTANCE)
                .<Long>eval(RScript.Mode.READ_WRITE, REPLICAS, RScript.ReturnType.LONG, List.of(key))) > 0;
        BatchOptions options = replicated ? BatchOptions.defaults().sync(1, REPLICA_WAIT) : BatchOptions.defaults();
        BatchResult<?> result = RedisCalls.call(WHAT, () -> {
            RBatch batch = redisson.createBatch(options);
            write.accept(batch);
            return batch.execute();
        });
        if (replicated && result.getSyncedSlaves() < 1) {
            LOG.log(System.Logger.Level.WARNING, "no Redis replica confirmed a revocation within " + REPLICA_WAIT
                    + ": refused as unavailable, the caller retries");
            throw new ProtocolException(ErrorCode.UNAVAILABLE, WHAT + " are unavailable, retry");
        }
        return result.getResponses().getFirst();
    }

    @Override
    public void disconnectUser(String tenant, String user) {
        publish("d|" + tenant + "|" + user);
    }

    @Override
    public boolean revoked(Principal p) {
        List<String> keys = new java.util.ArrayList<>();
        keys.add(Keys.revokedUser(p.tenant(), p.user()));
        p.tokenId().ifPresent(id -> keys.add(Keys.revokedToken(p.tenant(), id)));
        java.util.Map<String, Object> found = RedisCalls.call(WHAT, () -> redisson.getBuckets(StringCodec.INSTANCE)
                .get(keys.toArray(String[]::new)));
        if (p.tokenId().isPresent() && found.containsKey(Keys.revokedToken(p.tenant(), p.tokenId().get()))) {
            return true;
        }
        Object cutoff = found.get(Keys.revokedUser(p.tenant(), p.user()));
        if (cutoff == null) {
            return false;
        }
        Instant before = Instant.ofEpochMilli(Long.parseLong(cutoff.toString()));
        return p.issuedAt().map(at -> at.isBefore(before)).orElse(true);
    }

    @Override
    public void listen(Consumer<Notice> listener) {
        listeners.add(listener);
    }

    private void publish(String message) {
        RedisCalls.call(WHAT, () -> topic.publish(message));
    }

    private void received(String message) {
        Notice notice;
        try {
            String[] f = message.split("\\|", 4);
            notice = switch (f[0]) {
                case "t" -> new TokenRevoked(f[1], message.substring(f[0].length() + f[1].length() + 2));
                case "u" -> new UserRevoked(f[1], f[2], Instant.ofEpochMilli(Long.parseLong(f[3])));
                case "d" -> new UserDisconnected(f[1], f[2]);
                default -> throw new IllegalArgumentException("unknown kind");
            };
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "ignoring a malformed revocation notice: " + e.getMessage());
            return;
        }
        for (Consumer<Notice> l : listeners) {
            try {
                l.accept(notice);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "a revocation listener failed", e);
            }
        }
    }

    private long ttl(Instant keepUntil) {
        return Math.max(1, keepUntil.toEpochMilli() - clock.millis());
    }

    @Override
    public void close() {
        listeners.clear();
        try {
            topic.removeListener(subscription);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "removing the revocation listener failed: " + e);
        }
    }
}
