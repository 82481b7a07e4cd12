package dev.tandem.queue;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.Supplier;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

import org.redisson.api.RScript;
import org.redisson.api.RTopic;
import org.redisson.api.listener.StatusListener;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisException;
import org.redisson.client.codec.StringCodec;

/**
 * The cluster broker: channel offsets, epochs and history in Redis, fan-out across nodes
 * through Redis pub/sub, delivery to this node's subscribers through its {@link Hub}.
 *
 * <p>Guarantees, with any number of nodes sharing one Redis (or one Redis Cluster):
 * <ul>
 *   <li>Offsets are gap-free and increasing per channel within its epoch: one Lua script
 *       increments the channel's offset, appends to its history stream (bounded by the
 *       namespace's {@code history-size}, expiring after {@code history-ttl} without
 *       publications) and publishes the message to the channel's pub/sub topic. Redis runs
 *       scripts one at a time, so the broadcast order is the offset order, whichever node
 *       published.</li>
 *   <li>Every channel has an epoch stored beside its offset. If the channel's keys vanish
 *       (Redis flushed, or the channel idle longer than the key lifetime) the next use starts
 *       a new random epoch at offset 0, so old positions are answered {@code recovered: false}.</li>
 *   <li>A node listens to a channel's topic only while it has local subscribers. A joining
 *       subscriber's node first listens, then reads the history, then hands the subscriber
 *       live publications after what it read: no gap and no duplicate, even while
 *       publications keep arriving (see {@link #subscribe}). A duplicate or late pub/sub
 *       message (offset already delivered) is dropped; a gap (lost messages, e.g. across a
 *       pub/sub reconnect) is filled from the history before the next message is handed on,
 *       and only what the history no longer holds stays missing (logged; clients see the gap
 *       in the offsets and resubscribe).</li>
 *   <li>Ephemeral publications go through pub/sub only: no offset, no history.</li>
 *   <li>A broken pub/sub path is noticed and repaired: every {@value #PROBE_MILLIS} ms the
 *       broker publishes to a probe topic only this node listens to. While probes stop
 *       arriving (for {@value #PROBE_TIMEOUT_MILLIS} ms) {@link #delivering()} is false, so
 *       readiness shows it; the probe subscription is re-made if it stays broken. When probes
 *       arrive again, and whenever Redisson reports a channel re-subscribed, every listened
 *       channel catches up from its history, so publications made while the subscription was
 *       down reach subscribers even when nothing is published after them.</li>
 *   <li>A channel that starts a new epoch (its keys vanished) is followed from the new
 *       epoch's first offset: what the feed missed of the new epoch is read from the history.</li>
 * </ul>
 *
 * <p>No Redis call is made while a lock is held: the per-channel lock only orders the hand-over
 * to the hub, which never blocks. Redis failures surface as {@link ProtocolException}s with
 * {@link ErrorCode#UNAVAILABLE}. The {@link RedissonClient} belongs to the caller; {@link #close}
 * stops listening but does not shut it down.
 */
public final class RedisBroker implements Broker {
    private static final System.Logger LOG = System.getLogger(RedisBroker.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Channel metadata (epoch, offset) outlives a short history so positions stay meaningful. */
    private static final Duration MIN_META_TTL = Duration.ofDays(1);
    private static final Duration SUBSCRIBE_TIMEOUT = Duration.ofSeconds(10);
    /** Recent publications each listening node keeps to hand to joiners who read an older top. */
    static final int RECENT = 1024;
    private static final int ATTEMPTS = 5;
    static final long PROBE_MILLIS = 500;
    static final long PROBE_TIMEOUT_MILLIS = 2000;

    /*
     * KEYS: meta, log, ids. ARGV: new epoch, history size, history ttl ms, meta ttl ms, topic, body,
     * event id given by the source ('' when none). A source event id seen among the channel's
     * recent publications returns that publication's position and publishes nothing again.
     * Creates the epoch when the channel has none (dropping a stale log, whose ids would collide),
     * takes the next offset, appends, and publishes, all in one atomic step.
     */
    private static final String PUBLISH = """
            local epoch = redis.call('HGET', KEYS[1], 'epoch')
            if not epoch then
              epoch = ARGV[1]
              redis.call('DEL', KEYS[2])
              redis.call('HSET', KEYS[1], 'epoch', epoch)
            end
            if ARGV[7] ~= '' then
              local seen = redis.call('ZSCORE', KEYS[3], ARGV[7])
              if seen then return {epoch, tostring(seen), 'duplicate'} end
            end
            local top = redis.call('HINCRBY', KEYS[1], 'top', 1)
            redis.call('PEXPIRE', KEYS[1], ARGV[4])
            if ARGV[7] ~= '' then
              redis.call('ZADD', KEYS[3], top, ARGV[7])
              redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', top - math.max(tonumber(ARGV[2]), 1000))
              redis.call('PEXPIRE', KEYS[3], ARGV[4])
            end
            local size = tonumber(ARGV[2])
            if size > 0 and tonumber(ARGV[3]) > 0 then
              redis.call('XADD', KEYS[2], 'MAXLEN', size, top .. '-0', 'p', ARGV[6])
              redis.call('PEXPIRE', KEYS[2], ARGV[3])
            end
            redis.call('PUBLISH', ARGV[5], epoch .. '|' .. top .. '|' .. ARGV[6])
            return {epoch, tostring(top)}
            """;

    /*
     * KEYS: meta, log. ARGV: new epoch, meta ttl ms, epoch of the position to read after (or ''),
     * offset to read after. Returns {epoch, top, entries after the offset} in one consistent view.
     */
    private static final String READ = """
            local epoch = redis.call('HGET', KEYS[1], 'epoch')
            if not epoch then
              epoch = ARGV[1]
              redis.call('DEL', KEYS[2])
              redis.call('HSET', KEYS[1], 'epoch', epoch, 'top', 0)
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            local top = tonumber(redis.call('HGET', KEYS[1], 'top') or '0')
            local after = tonumber(ARGV[4])
            local entries = {}
            if ARGV[3] == epoch and after < top then
              entries = redis.call('XRANGE', KEYS[2], tostring(after + 1), '+')
            end
            return {epoch, tostring(top), entries}
            """;

    private final RedissonClient redisson;
    private final Hub hub;
    private final ChannelRules rules;
    private final Telemetry telemetry;
    private final Clock clock;
    private final LuaScripts scripts;
    private final Wire wire;
    private final Map<ChannelKey, Feed> feeds = new ConcurrentHashMap<>();
    private final Map<Registration, Filter> registrations = new ConcurrentHashMap<>();
    private final String probeTopic = "tandem:probe:" + newEpoch();
    private final ScheduledExecutorService prober;
    private final AtomicLong lastProbeNanos = new AtomicLong(System.nanoTime());
    private final AtomicBoolean broken = new AtomicBoolean();
    private volatile long brokenSinceNanos;
    private volatile Optional<Integer> probeListener = Optional.empty();

    /**
     * A broker on {@code redisson}, delivering to this node's {@code hub}, with history bounds
     * from {@code rules}.
     */
    public RedisBroker(RedissonClient redisson, Hub hub, ChannelRules rules, Telemetry telemetry, Clock clock) {
        this.redisson = redisson;
        this.hub = hub;
        this.rules = rules;
        this.telemetry = telemetry;
        this.clock = clock;
        this.scripts = new LuaScripts(redisson);
        this.wire = new Wire(FrameCodec.create().mapper());
        this.prober = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("tandem-broker-probe").factory());
        prober.scheduleWithFixedDelay(this::probe, 0, PROBE_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * {@inheritDoc}
     *
     * <p>False while this node's probe publications stop coming back through Redis pub/sub (a
     * killed or stuck subscription connection, Redis unreachable).
     */
    @Override
    public boolean delivering() {
        return System.nanoTime() - lastProbeNanos.get() < TimeUnit.MILLISECONDS.toNanos(PROBE_TIMEOUT_MILLIS);
    }

    /** One probe round: (re)subscribe the probe when needed, publish one, notice breaks and recoveries. */
    private void probe() {
        try {
            boolean late = !delivering();
            if (late && broken.compareAndSet(false, true)) {
                brokenSinceNanos = System.nanoTime();
                LOG.log(System.Logger.Level.WARNING, "Redis pub/sub is not delivering to this node: readiness DOWN "
                        + "until it recovers (" + feeds.size() + " channels listened to)");
            }
            if (probeListener.isEmpty() || late && System.nanoTime() - brokenSinceNanos
                    > TimeUnit.MILLISECONDS.toNanos(2 * PROBE_TIMEOUT_MILLIS)) {
                // no subscription yet, or broken for long: subscribe the probe again
                RTopic topic = redisson.getTopic(probeTopic, StringCodec.INSTANCE);
                probeListener.ifPresent(id -> topic.removeListenerAsync(id));
                probeListener = Optional.empty();
                brokenSinceNanos = System.nanoTime();
                probeListener = Optional.of(topic.addListener(String.class, (channel, message) -> onProbe()));
            }
            redisson.getTopic(probeTopic, StringCodec.INSTANCE).publish(String.valueOf(System.nanoTime()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "pub/sub probe failed", e);
        }
    }

    private void onProbe() {
        lastProbeNanos.set(System.nanoTime());
        if (broken.compareAndSet(true, false)) {
            LOG.log(System.Logger.Level.WARNING, "Redis pub/sub delivers again: catching up " + feeds.size()
                    + " channels from their history");
            Thread.ofVirtual().name("tandem-broker-catch-up").start(this::catchUpAll);
        }
    }

    /** Reads what every listened channel published past what it delivered, and delivers it. */
    private void catchUpAll() {
        for (Feed feed : feeds.values()) {
            catchUp(feed);
        }
    }

    private void catchUp(Feed feed) {
        String epoch;
        long last;
        feed.lock.lock();
        try {
            if (feed.retired || !feed.initialized) {
                return;
            }
            epoch = feed.epoch;
            last = feed.last;
        } finally {
            feed.lock.unlock();
        }
        try {
            Snapshot s = read(feed.channel, rules.namespaceOf(feed.channel), Optional.of(new Position(epoch, last)));
            if (!s.epoch().equals(epoch) || s.top() <= last) {
                return; // nothing missed, or a new epoch the next live message moves the feed to
            }
            feed.lock.lock();
            try {
                if (!feed.retired) {
                    s.entries().forEach(feed::deliver);
                }
            } finally {
                feed.lock.unlock();
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot catch up " + feed.channel + " from its history", e);
        }
    }

    @Override
    public Publication publish(ChannelKey channel, Draft draft) {
        Namespace ns = rules.namespaceOf(channel);
        String eventId = draft.eventId().orElseGet(() -> UUID.randomUUID().toString());
        long accepted = System.nanoTime();
        Instant now = clock.instant();
        String body = wire.body(draft.type(), eventId, now, draft.from(), draft.data());
        Optional<Position> position;
        if (draft.ephemeral()) {
            redis(() -> topic(channel).publish(Wire.EPHEMERAL_PREFIX + body));
            position = Optional.empty();
        } else {
            List<Object> r = redis(() -> scripts.eval(PUBLISH, RScript.ReturnType.LIST, Keys.publishKeys(channel),
                    newEpoch(), String.valueOf(ns.historySize()), String.valueOf(ns.historyTtl().toMillis()),
                    String.valueOf(metaTtl(ns).toMillis()), Keys.topic(channel), body, draft.eventId().orElse("")));
            position = Optional.of(new Position((String) r.get(0), Long.parseLong(String.valueOf(r.get(1)))));
            if (r.size() > 2) {
                // the source sent this event before: same position, nothing published again
                return new Publication(channel, position, draft.type(), eventId, now, draft.from(), draft.data(),
                        accepted);
            }
        }
        telemetry.published(channel.namespace(), draft.ephemeral());
        return new Publication(channel, position, draft.type(), eventId, now, draft.from(), draft.data(), accepted);
    }

    /**
     * {@inheritDoc}
     *
     * <p>How it avoids gaps and duplicates across nodes: (1) this node listens to the channel's
     * topic (live messages that arrive before the subscriber is registered are buffered or go
     * to the other local subscribers); (2) one script reads the epoch, the top offset T and the
     * history after {@code since}; (3) under the channel's lock, the publications this node
     * already delivered past T are added from its recent buffer, {@code beforeLive} runs, and
     * the subscriber is registered behind a filter that drops offsets up to the reported top,
     * which are in the recovery or were before the position.
     */
    @Override
    public Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                              Consumer<Recovery> beforeLive) {
        Namespace ns = rules.namespaceOf(channel);
        unsubscribe(channel, subscriber); // a repeated subscribe replaces the earlier one
        Feed feed = acquire(channel);
        boolean registered = false;
        try {
            for (int attempt = 1; ; attempt++) {
                Snapshot read = read(channel, ns, since);
                if (since.isPresent() && since.get().epoch().equals(read.epoch()) && since.get().offset() > read.top()) {
                    throw new ProtocolException(ErrorCode.BAD_REQUEST, "offset " + since.get().offset()
                            + " is ahead of the channel (newest is " + read.top() + ")");
                }
                feed.lock.lock();
                try {
                    if (!feed.initialized) {
                        feed.initialized = true;
                        feed.epoch = read.epoch();
                        feed.last = read.top();
                    }
                    boolean sameEpoch = read.epoch().equals(feed.epoch);
                    long liveTop = sameEpoch ? Math.max(feed.last, read.top()) : read.top();
                    Optional<List<Publication>> beyond = sameEpoch ? feed.recentAfter(read.top(), liveTop)
                            : Optional.of(List.of());
                    if (beyond.isEmpty()) {
                        // this node delivered more than its recent buffer holds since the read: read again
                        if (attempt < ATTEMPTS) {
                            continue;
                        }
                        throw new ProtocolException(ErrorCode.UNAVAILABLE, "the channel is too busy to join, retry");
                    }
                    Position top = new Position(read.epoch(), liveTop);
                    Recovery recovery = recovery(ns, since, read, beyond.get(), top);
                    Filter filter = new Filter(subscriber, top, feed);
                    beforeLive.accept(recovery);
                    registrations.put(new Registration(channel, subscriber), filter);
                    hub.add(channel, filter);
                    registered = true;
                    feed.drainEarly();
                    return recovery;
                } finally {
                    feed.lock.unlock();
                }
            }
        } finally {
            if (!registered) {
                release(channel, feed);
            }
        }
    }

    @Override
    public void unsubscribe(ChannelKey channel, Subscriber subscriber) {
        Filter filter = registrations.remove(new Registration(channel, subscriber));
        if (filter == null) {
            return;
        }
        hub.remove(channel, filter);
        release(channel, filter.feed());
    }

    @Override
    public Position top(ChannelKey channel) {
        Snapshot s = read(channel, rules.namespaceOf(channel), Optional.empty());
        return new Position(s.epoch(), s.top());
    }

    /** Stops listening to every channel; the Redisson client stays open (it is the caller's). */
    @Override
    public void close() {
        prober.shutdownNow();
        probeListener.ifPresent(id -> redisson.getTopic(probeTopic, StringCodec.INSTANCE).removeListenerAsync(id));
        for (Map.Entry<ChannelKey, Feed> e : feeds.entrySet()) {
            Feed feed = e.getValue();
            feed.retire();
            stopListening(e.getKey(), feed);
        }
        feeds.clear();
        registrations.clear();
    }

    /** How many channels this node listens to (for tests and metrics). */
    int listening() {
        return feeds.size();
    }

    private Recovery recovery(Namespace ns, Optional<Position> since, Snapshot read, List<Publication> beyond,
                              Position top) {
        if (since.isEmpty() || !since.get().epoch().equals(read.epoch())) {
            return new Recovery(top, List.of(), false);
        }
        long from = since.get().offset();
        List<Publication> kept = new ArrayList<>(read.entries());
        // history expires by age: drop what is older than the TTL from the front, as trimming would
        Instant oldest = clock.instant().minus(ns.historyTtl());
        while (!kept.isEmpty() && kept.getFirst().time().isBefore(oldest)) {
            kept.removeFirst();
        }
        boolean complete = from >= read.top()
                || !kept.isEmpty() && kept.getFirst().position().orElseThrow().offset() == from + 1;
        if (!complete) {
            return new Recovery(top, List.of(), false);
        }
        List<Publication> missed = new ArrayList<>(kept);
        for (Publication p : beyond) {
            if (p.position().orElseThrow().offset() > from) {
                missed.add(p);
            }
        }
        return new Recovery(top, missed, true);
    }

    private Snapshot read(ChannelKey channel, Namespace ns, Optional<Position> since) {
        List<Object> r = redis(() -> scripts.eval(READ, RScript.ReturnType.LIST, Keys.channelKeys(channel),
                newEpoch(), String.valueOf(metaTtl(ns).toMillis()), since.map(Position::epoch).orElse(""),
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

    private static String fieldValue(List<?> fields, String name) {
        for (int i = 0; i + 1 < fields.size(); i += 2) {
            if (name.equals(String.valueOf(fields.get(i)))) {
                return String.valueOf(fields.get(i + 1));
            }
        }
        throw new IllegalArgumentException("history entry without field " + name);
    }

    /** The channel's feed, listening to its topic before this returns. */
    private Feed acquire(ChannelKey channel) {
        boolean[] created = new boolean[1];
        Feed feed = feeds.compute(channel, (k, f) -> {
            Feed result = f;
            if (result == null) {
                result = new Feed(k);
                created[0] = true;
            }
            result.refs++;
            return result;
        });
        if (created[0]) {
            try {
                feed.listenerId = topic(channel).addListener(String.class, (name, message) -> onMessage(feed, message));
                feed.statusListenerId = topic(channel).addListener(new StatusListener() {
                    @Override
                    public void onSubscribe(String name) {
                        // (re-)subscribed, e.g. after a lost connection: fetch what went by meanwhile
                        // (after the first subscription this reads nothing new: one cheap script call)
                        Thread.ofVirtual().name("tandem-broker-catch-up").start(() -> catchUp(feed));
                    }

                    @Override
                    public void onUnsubscribe(String name) {
                        // removing our own listeners
                    }
                });
                feed.ready.complete(null);
            } catch (RuntimeException e) {
                feed.ready.completeExceptionally(e);
            }
        }
        try {
            feed.ready.get(SUBSCRIBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return feed;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            release(channel, feed);
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "interrupted while subscribing");
        } catch (ExecutionException | TimeoutException e) {
            release(channel, feed);
            LOG.log(System.Logger.Level.WARNING, "cannot listen to " + channel, e);
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "live delivery is unavailable, retry");
        }
    }

    /** Drops one reference to the feed; the last one stops listening. */
    private void release(ChannelKey channel, Feed feed) {
        boolean[] last = new boolean[1];
        feeds.computeIfPresent(channel, (k, f) -> {
            if (f != feed) {
                return f;
            }
            if (--f.refs == 0) {
                last[0] = true;
                return null;
            }
            return f;
        });
        if (last[0]) {
            feed.retire();
            stopListening(channel, feed);
        }
    }

    private void stopListening(ChannelKey channel, Feed feed) {
        if (feed.ready.isDone() && !feed.ready.isCompletedExceptionally()) {
            // asynchronous: unsubscribing must not block the caller (often a closing session);
            // the retired feed ignores whatever still arrives
            topic(channel).removeListenerAsync(feed.listenerId, feed.statusListenerId).whenComplete((v, e) -> {
                if (e != null) {
                    LOG.log(System.Logger.Level.DEBUG, "removing the listener of " + channel + " failed", e);
                }
            });
        }
    }

    private void onMessage(Feed feed, String message) {
        Publication p;
        try {
            p = wire.decodeMessage(feed.channel, message);
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "dropping a malformed live message on " + feed.channel, e);
            return;
        }
        long gapAfter;
        feed.lock.lock();
        try {
            if (feed.retired) {
                return;
            }
            if (!feed.initialized) {
                feed.early.add(p);
                return;
            }
            gapAfter = feed.gapBefore(p);
            if (gapAfter < 0) {
                feed.deliver(p);
                return;
            }
        } finally {
            feed.lock.unlock();
        }
        // Messages were lost (e.g. while Redisson re-subscribed after a connection loss): fetch
        // them from the history before handing on this one. Redisson calls a topic's listeners
        // one message at a time, so blocking here holds back later messages, which keeps the order.
        List<Publication> lost = List.of();
        try {
            String epoch = p.position().orElseThrow().epoch();
            lost = read(feed.channel, rules.namespaceOf(feed.channel), Optional.of(new Position(epoch, gapAfter)))
                    .entries();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot fetch lost live messages of " + feed.channel, e);
        }
        feed.lock.lock();
        try {
            if (feed.retired) {
                return;
            }
            long offset = p.position().orElseThrow().offset();
            for (Publication missed : lost) {
                if (missed.position().orElseThrow().offset() < offset) {
                    feed.deliver(missed);
                }
            }
            feed.deliver(p);
        } finally {
            feed.lock.unlock();
        }
    }

    private RTopic topic(ChannelKey channel) {
        return redisson.getTopic(Keys.topic(channel), StringCodec.INSTANCE);
    }

    private static Duration metaTtl(Namespace ns) {
        return ns.historyTtl().compareTo(MIN_META_TTL) > 0 ? ns.historyTtl() : MIN_META_TTL;
    }

    private static String newEpoch() {
        byte[] b = new byte[6];
        RANDOM.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Runs a Redis call, turning Redis failures into a transient protocol error. */
    static <T> T redis(Supplier<T> call) {
        try {
            return call.get();
        } catch (RedisException e) {
            LOG.log(System.Logger.Level.WARNING, "Redis call failed", e);
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "the history store is unavailable, retry");
        }
    }

    /** The channel's state in Redis as one script saw it. */
    private record Snapshot(String epoch, long top, List<Publication> entries) {
    }

    /** One subscription of one subscriber to one channel on this node. */
    private record Registration(ChannelKey channel, Subscriber subscriber) {
    }

    /**
     * What the hub holds for a subscriber: drops the durable publications up to the position
     * the subscriber was told (they were in its recovery, or before its position).
     */
    private record Filter(Subscriber subscriber, Position start, Feed feed) implements Subscriber {
        @Override
        public void deliver(Publication publication, Encoded frame) {
            if (publication.position().isPresent()) {
                Position p = publication.position().get();
                if (p.epoch().equals(start.epoch()) && p.offset() <= start.offset()) {
                    return;
                }
            }
            subscriber.deliver(publication, frame);
        }
    }

    /**
     * This node's view of one channel's live stream: sequences pub/sub messages (dropping
     * duplicates) and hands them to the hub. Fields below the lock are guarded by it.
     */
    private final class Feed {
        private final ChannelKey channel;
        private final ReentrantLock lock = new ReentrantLock();
        private final CompletableFuture<Void> ready = new CompletableFuture<>();
        /** Local subscriptions using this feed; guarded by the feeds map. */
        private int refs;
        private volatile int listenerId;
        private volatile int statusListenerId;

        private boolean initialized;
        private boolean retired;
        private String epoch;
        private long last;
        private final ArrayDeque<Publication> recent = new ArrayDeque<>();
        private final List<Publication> early = new ArrayList<>();

        private Feed(ChannelKey channel) {
            this.channel = channel;
        }

        private void retire() {
            lock.lock();
            try {
                retired = true;
                early.clear();
                recent.clear();
            } finally {
                lock.unlock();
            }
        }

        /**
         * The last delivered offset when {@code p} comes after a gap in the feed's epoch, else -1.
         */
        private long gapBefore(Publication p) {
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

        /** Hands buffered messages that arrived before the feed knew its starting offset. */
        private void drainEarly() {
            for (Publication p : early) {
                deliver(p);
            }
            early.clear();
        }

        /** The delivered publications with offsets in (after, upTo], if the buffer still has them all. */
        private Optional<List<Publication>> recentAfter(long after, long upTo) {
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

        private void deliver(Publication p) {
            if (p.position().isPresent()) {
                Position pos = p.position().get();
                if (!pos.epoch().equals(epoch)) {
                    // the channel started over in a new epoch (its keys vanished): follow it
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
}
