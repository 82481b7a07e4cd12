package dev.tandem.broker;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.hub.Hub;
import dev.tandem.inbox.Inbox;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

/**
 * The single-node broker of standalone mode: offsets, epochs and a bounded history per channel
 * in memory, fan-out through the local {@link Hub}.
 *
 * <p>Each channel has its own lock, held while a publication is appended and handed to the
 * subscribers' queues (which never blocks), so concurrent publishers to one channel are ordered
 * and channels do not contend with each other. History is lost on restart: the channel then
 * gets a new epoch and clients holding an old position are told {@code recovered: false}.
 *
 * <p>Memory is bounded per channel by the namespace's history (size and TTL; the source event
 * ids remembered for de-duplication follow the same window, ids only) and per tenant by
 * {@code maxChannelsPerTenant}: a subscribe that would create one more channel is refused with
 * {@code limit_exceeded}; channels without history and subscribers are forgotten by
 * {@link #sweep()}. The tenant's traffic is never refused by that cap, so subscribers cannot
 * starve it: publications (which a namespace's history bounds in size and time, and the sweep
 * then forgets) and subscriptions to users' inboxes ({@code user:} channels) may create channels
 * beyond it. How many channels one user's subscriptions hold is bounded in the operations layer,
 * so one user cannot fill the cap either.
 */
public final class MemoryBroker implements Broker {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** How many recent source event ids a channel without history remembers. */
    static final int MIN_SOURCE_IDS = 100;
    /** The default cap on channels in memory per tenant. */
    public static final int DEFAULT_MAX_CHANNELS_PER_TENANT = 10_000;

    private final Map<ChannelKey, ChannelState> channels = new ConcurrentHashMap<>();
    private final Map<String, java.util.concurrent.atomic.AtomicInteger> perTenant = new ConcurrentHashMap<>();
    private final int maxChannelsPerTenant;
    private final Hub hub;
    private final ChannelRules rules;
    private final Telemetry telemetry;
    private final Clock clock;

    /** A broker delivering through {@code hub}, with history bounds from {@code rules}. */
    public MemoryBroker(Hub hub, ChannelRules rules, Telemetry telemetry, Clock clock) {
        this(hub, rules, telemetry, clock, DEFAULT_MAX_CHANNELS_PER_TENANT);
    }

    /** Like {@link #MemoryBroker(Hub, ChannelRules, Telemetry, Clock)}, with a cap on channels per tenant. */
    public MemoryBroker(Hub hub, ChannelRules rules, Telemetry telemetry, Clock clock, int maxChannelsPerTenant) {
        if (maxChannelsPerTenant < 1) {
            throw new IllegalArgumentException("channels per tenant must be positive");
        }
        this.hub = hub;
        this.rules = rules;
        this.telemetry = telemetry;
        this.clock = clock;
        this.maxChannelsPerTenant = maxChannelsPerTenant;
    }

    @Override
    public Publication publish(ChannelKey channel, Draft draft) {
        Namespace ns = rules.namespaceOf(channel);
        String eventId = draft.eventId().orElseGet(() -> UUID.randomUUID().toString());
        long accepted = System.nanoTime();
        Instant now = clock.instant();
        if (draft.ephemeral()) {
            Publication p = new Publication(channel, Optional.empty(), draft.type(), eventId, now, draft.from(),
                    draft.data(), accepted, draft.eventId().isPresent());
            telemetry.published(channel.namespace(), true);
            hub.deliver(p);
            return p;
        }
        ChannelState state = lockedState(channel, false);
        try {
            state.trim(ns, now);
            if (draft.eventId().isPresent()) {
                SourceId earlier = state.bySourceId.get(draft.eventId().get());
                if (earlier != null) {
                    // the source sent this event before: same position, nothing delivered again
                    return new Publication(channel, Optional.of(new Position(state.epoch, earlier.offset())),
                            draft.type(), eventId, earlier.time(), draft.from(), draft.data(), accepted);
                }
            }
            Publication p = new Publication(channel, Optional.of(new Position(state.epoch, state.top + 1)),
                    draft.type(), eventId, now, draft.from(), draft.data(), accepted, draft.eventId().isPresent());
            state.top++;
            if (draft.eventId().isPresent()) {
                state.bySourceId.put(eventId, new SourceId(p.position().orElseThrow().offset(), now));
                state.trim(ns, now);
            }
            if (ns.historySize() > 0) {
                state.history.addLast(p);
                state.trim(ns, now);
            }
            telemetry.published(channel.namespace(), false);
            hub.deliver(p);
            return p;
        } finally {
            state.lock.unlock();
        }
    }

    @Override
    public Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                              Consumer<Recovery> beforeLive) {
        Namespace ns = rules.namespaceOf(channel);
        ChannelState state = lockedState(channel, !channel.namespace().equals(Inbox.NAMESPACE));
        try {
            state.trim(ns, clock.instant());
            Position top = new Position(state.epoch, state.top);
            Recovery recovery;
            if (since.isEmpty()) {
                recovery = new Recovery(top, List.of(), false);
            } else {
                Position from = since.get();
                if (from.epoch().equals(state.epoch) && from.offset() > state.top) {
                    throw new ProtocolException(ErrorCode.BAD_REQUEST, "offset " + from.offset()
                            + " is ahead of the channel (newest is " + state.top + ")");
                }
                long oldestKept = state.history.isEmpty() ? state.top + 1 : state.history.peekFirst().position()
                        .orElseThrow().offset();
                boolean inWindow = from.epoch().equals(state.epoch) && from.offset() + 1 >= oldestKept;
                if (inWindow) {
                    List<Publication> missed = new ArrayList<>();
                    for (Publication p : state.history) {
                        if (p.position().orElseThrow().offset() > from.offset()) {
                            missed.add(p);
                        }
                    }
                    recovery = new Recovery(top, missed, true);
                } else {
                    recovery = new Recovery(top, List.of(), false);
                }
            }
            beforeLive.accept(recovery);
            hub.add(channel, subscriber);
            return recovery;
        } finally {
            state.lock.unlock();
        }
    }

    @Override
    public void unsubscribe(ChannelKey channel, Subscriber subscriber) {
        hub.remove(channel, subscriber);
    }

    @Override
    public Position top(ChannelKey channel) {
        ChannelState state = lockedState(channel, false);
        try {
            return new Position(state.epoch, state.top);
        } finally {
            state.lock.unlock();
        }
    }

    /**
     * Drops expired history, and forgets channels with neither history nor local subscribers,
     * so memory follows the live channels. A forgotten channel starts a new epoch when used again.
     *
     * @return how many channels were forgotten
     */
    public int sweep() {
        Instant now = clock.instant();
        int removed = 0;
        for (Iterator<Map.Entry<ChannelKey, ChannelState>> it = channels.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<ChannelKey, ChannelState> e = it.next();
            ChannelState state = e.getValue();
            if (!state.lock.tryLock()) {
                continue;
            }
            try {
                state.trim(rules.namespaceOf(e.getKey()), now);
                if (state.history.isEmpty() && state.bySourceId.isEmpty() && !hub.hasSubscribers(e.getKey())) {
                    it.remove();
                    perTenant.computeIfPresent(e.getKey().tenant(), (t, n) -> n.decrementAndGet() <= 0 ? null : n);
                    removed++;
                }
            } finally {
                state.lock.unlock();
            }
        }
        return removed;
    }

    /** How many channels have state in memory. */
    public int channelCount() {
        return channels.size();
    }

    @Override
    public void close() {
        channels.clear();
        perTenant.clear();
    }

    /**
     * The channel's current state, locked. A {@link #sweep} may forget a state between looking
     * it up and locking it; using that orphan would split the channel in two epochs (a
     * subscriber registered on one, publications numbered on the other), so retry until the
     * locked state is still the channel's.
     */
    private ChannelState lockedState(ChannelKey channel, boolean capped) {
        while (true) {
            ChannelState state = channels.computeIfAbsent(channel, c -> newChannel(c, capped));
            state.lock.lock();
            if (channels.get(channel) == state) {
                return state;
            }
            state.lock.unlock();
        }
    }

    /**
     * A channel's first state, counted for its tenant; refused when {@code capped} (a client
     * brings it into existence) and the tenant is at its cap.
     */
    private ChannelState newChannel(ChannelKey channel, boolean capped) {
        java.util.concurrent.atomic.AtomicInteger n = perTenant.computeIfAbsent(channel.tenant(),
                t -> new java.util.concurrent.atomic.AtomicInteger());
        if (n.incrementAndGet() > maxChannelsPerTenant && capped) {
            n.decrementAndGet();
            throw new ProtocolException(ErrorCode.LIMIT_EXCEEDED, "the tenant has " + maxChannelsPerTenant
                    + " channels in use, the most this node keeps");
        }
        return new ChannelState(newEpoch());
    }

    private static String newEpoch() {
        return Broker.newEpoch(RANDOM);
    }

    /** One channel's offsets and history; guarded by its lock. */
    private static final class ChannelState {
        private final ReentrantLock lock = new ReentrantLock();
        private final String epoch;
        private final ArrayDeque<Publication> history = new ArrayDeque<>();
        /** Recent source event ids with their offset and time, oldest first. */
        private final java.util.LinkedHashMap<String, SourceId> bySourceId = new java.util.LinkedHashMap<>();
        private long top;

        private ChannelState(String epoch) {
            this.epoch = epoch;
        }

        private void trim(Namespace ns, Instant now) {
            while (history.size() > ns.historySize()) {
                history.removeFirst();
            }
            Instant oldest = now.minus(ns.historyTtl());
            while (!history.isEmpty() && history.peekFirst().time().isBefore(oldest)) {
                history.removeFirst();
            }
            // the de-duplication window follows the history's: as many ids, as long
            int ids = ns.historySize() > 0 ? ns.historySize() : MIN_SOURCE_IDS;
            while (!bySourceId.isEmpty() && (bySourceId.size() > ids
                    || bySourceId.firstEntry().getValue().time().isBefore(oldest))) {
                bySourceId.pollFirstEntry();
            }
        }
    }

    /** Where a source event id was published. */
    private record SourceId(long offset, Instant time) {
    }
}
