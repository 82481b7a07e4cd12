package dev.tandem.queue.redis.broker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

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
import dev.tandem.queue.redis.Keys;
import dev.tandem.queue.redis.Slots;
import dev.tandem.queue.redis.Wire;
import dev.tandem.telemetry.Telemetry;

import org.redisson.api.RShardedTopic;
import org.redisson.api.RedissonClient;
import org.redisson.api.listener.StatusListener;
import org.redisson.client.codec.StringCodec;

/**
 * The cluster broker: channel offsets, epochs and history in Redis, fan-out across nodes
 * through Redis sharded pub/sub, delivery to this node's subscribers through its {@link Hub}.
 * It runs unchanged on one Redis (7.0 or later) and on a Redis Cluster: every key of a channel
 * and its shard channel share one hash slot ({@link Keys}).
 *
 * <p>Guarantees, with any number of nodes sharing one Redis or one Redis Cluster:
 * <ul>
 *   <li>Offsets are gap-free and increasing per channel within its epoch: one Lua script
 *       increments the channel's offset, appends to its history stream (bounded by the
 *       namespace's {@code history-size}, expiring after {@code history-ttl} without
 *       publications) and publishes the message on the channel's shard channel
 *       ({@code SPUBLISH}, which reaches only the shard that owns the channel). Redis runs a
 *       shard's scripts one at a time, so the broadcast order is the offset order, whichever node
 *       published.</li>
 *   <li>Every channel has an epoch stored beside its offset. If the channel's keys vanish
 *       (Redis flushed, or the channel idle longer than the key lifetime), or its shard failed
 *       over to a replica that may lack the newest writes ({@link ChannelLog}), the next use
 *       starts a new random epoch at offset 0, so old positions are answered
 *       {@code recovered: false}.</li>
 *   <li>A node subscribes to a channel's shard channel only while it has local subscribers
 *       (one subscription per channel: the node receives exactly the publications its clients
 *       hold). A joining subscriber's node first listens, then reads the history, then hands
 *       the subscriber live publications after what it read: no gap and no duplicate, even
 *       while publications keep arriving (see {@link #subscribe}). A duplicate or late message
 *       (offset already delivered) is dropped; a gap (lost messages, e.g. across a reconnect)
 *       is filled from the history before the next message is handed on, and only what the
 *       history no longer holds stays missing (logged; clients see the gap in the offsets and
 *       resubscribe).</li>
 *   <li>Ephemeral publications go through pub/sub only: no offset, no history.</li>
 *   <li>A broken subscription is noticed and repaired per shard ({@link ShardProbe}): while a
 *       shard's probe does not come back {@link #delivering()} is false, so readiness shows it.
 *       When it comes back, and whenever Redisson reports a channel re-subscribed (after a lost
 *       connection or a failover), the channels catch up from their history, so publications
 *       made while the subscription was down reach subscribers even when nothing is published
 *       after them.</li>
 *   <li>A channel that starts a new epoch is followed from the new epoch's first offset: what
 *       the feed missed of the new epoch is read from the history.</li>
 * </ul>
 *
 * <p>No Redis call is made while a lock is held: the per-channel lock only orders the hand-over
 * to the hub, which never blocks. Redis failures surface as {@link ProtocolException}s with
 * {@link ErrorCode#UNAVAILABLE}. The {@link RedissonClient} belongs to the caller; {@link #close}
 * stops listening but does not shut it down.
 */
public final class RedisBroker implements Broker {
    private static final System.Logger LOG = System.getLogger(RedisBroker.class.getName());
    private static final Duration SUBSCRIBE_TIMEOUT = Duration.ofSeconds(10);
    private static final int ATTEMPTS = 5;

    private final RedissonClient redisson;
    private final Hub hub;
    private final ChannelRules rules;
    private final Telemetry telemetry;
    private final Clock clock;
    private final Wire wire;
    private final ChannelLog log;
    private final Map<ChannelKey, Feed> feeds = new ConcurrentHashMap<>();
    private final Map<Registration, Filter> registrations = new ConcurrentHashMap<>();
    private final ShardProbe probe;

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
        this.wire = new Wire(FrameCodec.create().mapper());
        this.log = new ChannelLog(redisson, wire);
        this.probe = new ShardProbe(redisson, this::catchUpShard, feeds::size);
    }

    /**
     * {@inheritDoc}
     *
     * <p>False while the probe publications of any shard stop coming back to this node (a
     * killed or stuck subscription connection, a shard unreachable or failing over).
     */
    @Override
    public boolean delivering() {
        return probe.delivering();
    }

    /** Reads what the listened channels of a shard published past what they delivered, and delivers it. */
    private void catchUpShard(IntPredicate slots) {
        LOG.log(System.Logger.Level.INFO, "catching up the channels of a shard that delivers again");
        for (Feed feed : feeds.values()) {
            if (slots.test(Slots.of(Keys.live(feed.channel)))) {
                catchUp(feed);
            }
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
            ChannelLog.Snapshot s = log.read(feed.channel, rules.namespaceOf(feed.channel),
                    Optional.of(new Position(epoch, last)));
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
        String body = wire.body(draft.type(), eventId, draft.eventId().isPresent(), now, draft.from(), draft.data());
        Optional<Position> position = Optional.empty();
        boolean duplicate = false;
        if (draft.ephemeral()) {
            log.publishEphemeral(channel, body);
        } else {
            ChannelLog.Appended appended = log.append(channel, ns, body, draft.eventId());
            position = Optional.of(appended.position());
            duplicate = appended.duplicate(); // the source sent this event before: nothing published again
        }
        if (!duplicate) {
            telemetry.published(channel.namespace(), draft.ephemeral());
        }
        return new Publication(channel, position, draft.type(), eventId, now, draft.from(), draft.data(), accepted,
                draft.eventId().isPresent());
    }

    /**
     * {@inheritDoc}
     *
     * <p>How it avoids gaps and duplicates across nodes: (1) this node listens to the channel's
     * shard channel (live messages that arrive before the subscriber is registered are buffered or go
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
                ChannelLog.Snapshot read = log.read(channel, ns, since);
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
        ChannelLog.Snapshot s = log.read(channel, rules.namespaceOf(channel), Optional.empty());
        return new Position(s.epoch(), s.top());
    }

    /** Stops listening to every channel; the Redisson client stays open (it is the caller's). */
    @Override
    public void close() {
        probe.close();
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

    private Recovery recovery(Namespace ns, Optional<Position> since, ChannelLog.Snapshot read, List<Publication> beyond,
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

    /** The channel's feed, listening to its shard channel before this returns. */
    private Feed acquire(ChannelKey channel) {
        boolean[] created = new boolean[1];
        Feed feed = feeds.compute(channel, (k, f) -> {
            Feed result = f;
            if (result == null) {
                result = new Feed(k, hub);
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
                feed.holdEarly(p);
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
            lost = log.read(feed.channel, rules.namespaceOf(feed.channel), Optional.of(new Position(epoch, gapAfter)))
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

    private RShardedTopic topic(ChannelKey channel) {
        return redisson.getShardedTopic(Keys.live(channel), StringCodec.INSTANCE);
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
}
