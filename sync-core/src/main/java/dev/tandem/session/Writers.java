package dev.tandem.session;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The node's socket writers: a few long-lived virtual threads, one per shard, each writing the
 * queued frames of the connections of its shard in turn, like an event loop.
 *
 * <p>Why not a writer thread per connection: a fan-out to N connections then costs N thread
 * wake-ups per publication. Here a publisher appends to each connection's queue and puts the
 * connection on its shard's ready queue once (until it has been written); the shard's runner
 * takes the ready connections one after the other and writes each one's queued frames in one
 * socket write. A publication to N connections costs N queue appends and at most one wake-up per
 * shard, and when publications come faster than the sockets take them, frames of several
 * publications go out in one write.
 *
 * <p>A runner's turn on one connection writes at most {@link Outbound#MAX_BATCH_BYTES}; a
 * connection with more queued goes to the back of the ready queue, so one busy connection does
 * not hold up the others.
 *
 * <p>A connection whose queued frames belong to a batching namespace waits on its shard
 * ({@link Shard#defer}) until the namespace's delay has passed, in a lane per delay (so each lane
 * is in the order the waits end); the runner moves those that are due to the ready queue and
 * parks no longer than until the next is due.
 *
 * <p>Writes are blocking socket writes; a write blocks only when the peer stops reading and the
 * kernel's buffers are full. So that such a peer cannot hold up its whole shard, a watchdog looks
 * at every runner each {@value #WATCH_MILLIS} ms: a runner still in the same write as last time
 * is <em>detached</em>: it stays with that connection alone (finishes the write, writes what the
 * connection has queued, then ends) and a new runner takes over the shard. A detached runner is
 * the only thread ever interrupted (by {@link Outbound#stop}, to unblock a write on a dead peer),
 * so an interrupt never hits another connection's socket.
 */
final class Writers implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Writers.class.getName());
    /** How often the watchdog looks for stuck writes; a write is stuck after one to two periods. */
    static final long WATCH_MILLIS = 10;

    private final Shard[] shards;
    private final AtomicInteger next = new AtomicInteger();
    private final ScheduledFuture<?> watchdog;

    /**
     * Writers with {@code count} shards, watched by a task on {@code timers}.
     *
     * @param count  shards (runner threads); one per core is the right number
     * @param timers where the watchdog runs
     */
    Writers(int count, ScheduledExecutorService timers) {
        if (count < 1) {
            throw new IllegalArgumentException("writers must be at least 1, not " + count);
        }
        shards = new Shard[count];
        for (int i = 0; i < count; i++) {
            shards[i] = new Shard("tandem-writer-" + i);
        }
        watchdog = timers.scheduleAtFixedRate(this::watch, WATCH_MILLIS, WATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The shard of a new connection (round robin). */
    Shard assign() {
        return shards[Math.floorMod(next.getAndIncrement(), shards.length)];
    }

    private void watch() {
        for (Shard s : shards) {
            s.rescueIfStuck();
        }
    }

    /**
     * Waits, at most {@code max}, until every shard's runner has reached the connections that
     * were waiting for their turn when called: backpressure for publishers. A publisher that
     * waits here after a fan-out cannot get ahead of the sockets, so a burst of publications
     * waits at its source instead of filling every connection's queue (a full queue closes the
     * connection as a slow consumer, blaming the client for the server's backlog). Returns at
     * once when nothing waits. Approximate by design: frames added to a connection during its
     * turn are written at its next turn, which may come after the barrier.
     *
     * @return false when {@code max} passed first
     */
    boolean awaitBacklog(java.time.Duration max) throws InterruptedException {
        List<Shard> busy = new ArrayList<>(shards.length);
        for (Shard s : shards) {
            if (!s.ready.isEmpty()) {
                busy.add(s);
            }
        }
        if (busy.isEmpty()) {
            return true;
        }
        java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(busy.size());
        for (Shard s : busy) {
            s.enqueue(new Barrier(latch));
        }
        return latch.await(max.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** A mark in a ready queue: counted down when a runner reaches it. */
    private record Barrier(java.util.concurrent.CountDownLatch latch) {
        void reached() {
            latch.countDown();
        }
    }

    /** Stops the runners once their ready queues are empty. Drain the sessions first. */
    @Override
    public void close() {
        watchdog.cancel(false);
        for (Shard s : shards) {
            s.close();
        }
    }

    /**
     * One shard: a ready queue of connections with something to write and the runner that
     * writes them.
     */
    static final class Shard {
        private final String name;
        /** Connections to write, and now and then a {@link Barrier}. */
        private final ConcurrentLinkedQueue<Object> ready = new ConcurrentLinkedQueue<>();
        /** Connections waiting for a batch's delay: one lane per delay, each in due order. */
        private volatile Lane[] lanes = new Lane[0];
        private volatile Runner active;
        private volatile boolean closed;
        private final AtomicInteger generation = new AtomicInteger();

        private Shard(String name) {
            this.name = name;
            startRunner();
        }

        /**
         * Puts a connection on the ready queue. The caller holds the connection's writing flag:
         * a connection is on at most one ready queue, once.
         */
        void schedule(Outbound out) {
            enqueue(out);
        }

        /**
         * Lets a connection wait {@code delayNanos} before it is put on the ready queue (a batch's
         * delay). The caller holds the connection's writing flag, and the connection's
         * {@link Outbound#delayPassed} decides whether the wait still stands when it ends.
         */
        void defer(Outbound out, long delayNanos) {
            long due = System.nanoTime() + delayNanos;
            lane(delayNanos).add(new Waiting(out, due));
            // a parked runner whose alarm rings later (or not at all) sets it again; the other
            // waits of a fan-out end no sooner than the first, and need no wake-up each
            Runner r = active;
            long alarm = r.alarmAt;
            if (alarm == NO_ALARM || alarm - due > 0) {
                wake();
            }
        }

        private ConcurrentLinkedQueue<Waiting> lane(long delayNanos) {
            for (Lane l : lanes) {
                if (l.delayNanos() == delayNanos) {
                    return l.waiting();
                }
            }
            synchronized (this) {
                for (Lane l : lanes) {
                    if (l.delayNanos() == delayNanos) {
                        return l.waiting();
                    }
                }
                Lane[] more = java.util.Arrays.copyOf(lanes, lanes.length + 1);
                more[lanes.length] = new Lane(delayNanos, new ConcurrentLinkedQueue<>());
                lanes = more;
                return more[lanes.length - 1].waiting();
            }
        }

        /** Moves the connections whose wait has ended to the ready queue. */
        private void promoteDue() {
            Lane[] ls = lanes;
            if (ls.length == 0) {
                return;
            }
            long now = 0;
            for (Lane l : ls) {
                for (Waiting w = l.waiting().peek(); w != null; w = l.waiting().peek()) {
                    if (now == 0) {
                        now = System.nanoTime();
                    }
                    if (w.due() - now > 0) {
                        break;
                    }
                    l.waiting().poll();
                    if (w.out().delayPassed()) {
                        ready.add(w.out());
                    }
                }
            }
        }

        /** When the next wait ends ({@link System#nanoTime}), or {@link #NO_ALARM} when nothing waits. */
        private long nextDue() {
            long next = NO_ALARM;
            for (Lane l : lanes) {
                Waiting w = l.waiting().peek();
                if (w != null && (next == NO_ALARM || w.due() - next < 0)) {
                    next = w.due();
                }
            }
            return next;
        }

        private void enqueue(Object item) {
            ready.add(item);
            wake();
        }

        private void wake() {
            Runner r = active;
            if (r.parked.get() && r.parked.compareAndSet(true, false)) {
                LockSupport.unpark(r.thread);
            }
        }

        /** Makes a new runner the active one, then starts it (so a producer can always wake it). */
        private void startRunner() {
            Runner r = new Runner(this);
            r.thread = Thread.ofVirtual().name(name + "." + generation.getAndIncrement()).unstarted(r);
            active = r;
            r.thread.start();
        }

        /**
         * Detaches the active runner if it has been in the same write since the last look, and
         * starts a new one for the shard.
         */
        private void rescueIfStuck() {
            Runner r = active;
            long turn = r.turn;
            Object current = r.current.get();
            boolean sameTurn = turn == r.lastSeenTurn;
            r.lastSeenTurn = turn;
            if (!(current instanceof Outbound writing) || !sameTurn) {
                return;
            }
            // fails when the runner has finished that write meanwhile (it then goes on normally)
            if (r.current.compareAndSet(writing, Runner.DETACHED)) {
                startRunner();
                LOG.log(System.Logger.Level.DEBUG, () -> "connection " + writing.name()
                        + ": write blocked for over " + WATCH_MILLIS + " ms, it gets a writer of its own");
                writing.detachedTo(r.thread);
            }
        }

        private void close() {
            closed = true;
            Runner r = active;
            r.parked.set(false);
            LockSupport.unpark(r.thread);
        }
    }

    /** A parked runner's {@code alarmAt} when it waits for no batch. */
    static final long NO_ALARM = Long.MAX_VALUE;

    /** A connection waiting for a batch's delay until {@code due} ({@link System#nanoTime}). */
    private record Waiting(Outbound out, long due) {
    }

    /** The connections waiting for one delay, in the order their waits end. */
    private record Lane(long delayNanos, ConcurrentLinkedQueue<Waiting> waiting) {
    }

    /**
     * How long an idle runner spins before it parks: a fan-out hands it the next connection
     * within microseconds, and a park and wake-up costs far more (two futex calls).
     */
    static final long SPIN_NANOS = 20_000;

    /** A shard's runner thread: takes ready connections in turn and writes them. */
    private static final class Runner implements Runnable {
        /** Marks {@link #current} of a runner the watchdog detached from its shard. */
        static final Object DETACHED = new Object();

        private final Shard shard;
        private Thread thread;
        /** The connection being written, or null; the watchdog swaps it for a marker to detach. */
        private final AtomicReference<Object> current = new AtomicReference<>();
        private final AtomicBoolean parked = new AtomicBoolean();
        /**
         * When the parked runner wakes by itself for a batch ({@link System#nanoTime}), or
         * {@link #NO_ALARM}; set to {@link #NO_ALARM} before {@link #parked} is raised, so a wait
         * added while the alarm is being set always wakes the runner.
         */
        private volatile long alarmAt = NO_ALARM;
        /** Counts turns, so the watchdog can tell a write that lasts from a series of writes. */
        private volatile long turn;
        /** The watchdog's last look at {@link #turn} (only the watchdog touches it). */
        private long lastSeenTurn = -1;
        private final List<Frame> batch = new ArrayList<>();

        private Runner(Shard shard) {
            this.shard = shard;
        }

        @Override
        public void run() {
            while (true) {
                shard.promoteDue();
                Object next = shard.ready.poll();
                if (next instanceof Barrier b) {
                    b.reached();
                    continue;
                }
                Outbound out = (Outbound) next;
                if (out == null) {
                    if (shard.closed) {
                        return;
                    }
                    if (spinForWork()) {
                        continue;
                    }
                    alarmAt = NO_ALARM;
                    parked.set(true);
                    if (!shard.ready.isEmpty() || shard.closed) {
                        parked.set(false);
                        continue;
                    }
                    // read after the flag is up: a wait added later wakes the runner
                    long due = shard.nextDue();
                    if (due == NO_ALARM) {
                        LockSupport.park(this);
                    } else {
                        alarmAt = due;
                        LockSupport.parkNanos(this, Math.max(1, due - System.nanoTime()));
                    }
                    alarmAt = NO_ALARM;
                    parked.set(false);
                    continue;
                }
                turn++;
                current.set(out);
                boolean more = out.writeTurn(batch);
                if (!current.compareAndSet(out, null)) {
                    // the watchdog detached this runner during the write: stay with this connection
                    while (more) {
                        more = out.writeTurn(batch);
                    }
                    return;
                }
                if (more) {
                    shard.ready.add(out); // back of the queue: the others get their turn first
                }
            }
        }

        /** Spins a little for the next ready connection; true when one came. */
        private boolean spinForWork() {
            long until = System.nanoTime() + SPIN_NANOS;
            do {
                for (int i = 0; i < 32; i++) {
                    Thread.onSpinWait();
                }
                if (!shard.ready.isEmpty()) {
                    return true;
                }
            } while (System.nanoTime() < until);
            return false;
        }
    }
}
