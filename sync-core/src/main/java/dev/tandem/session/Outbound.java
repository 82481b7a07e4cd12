package dev.tandem.session;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Function;

import dev.tandem.channel.Namespace;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Publication;
import dev.tandem.operations.Delivery;
import dev.tandem.operations.Result;
import dev.tandem.telemetry.Telemetry;

/**
 * One connection's bounded outbound queue, and the {@link Delivery} its subscriptions hand
 * publications to. Publishers only ever enqueue, so a slow socket never blocks them; when the
 * queue is over its bounds, {@link #offer} says so and the session closes the connection as a
 * slow consumer.
 *
 * <p>The node's {@link Writers} write it: the first frame queued on an idle connection puts the
 * connection on its shard's ready queue, and the shard's runner takes whatever is queued at its
 * turn and hands the frames to the transport in one {@link Transport#send} call (one socket
 * write for a WebSocket), up to {@value #MAX_BATCH_BYTES} bytes a turn. Frames queued
 * while the connection waits for its turn go out in that same write. Live publications arrive
 * already encoded to UTF-8 once for all subscribers ({@link dev.tandem.hub.Encoded}) and are
 * written from those shared bytes. Telemetry is counted per write, not per frame.
 *
 * <p>A live publication of a namespace that batches ({@link Batching}) does not call the writer
 * to an idle connection at once: the connection waits on its shard for the namespace's
 * {@code batch-max-delay}, so the publications queued meanwhile go out in the same write. It is
 * written sooner when {@code batch-max-size} of them wait or anything else is queued (a reply, a
 * ping, the close). The queue's order is never changed, only when the writer comes.
 *
 * <p>The queue is lock-free. A {@code writing} flag, held from scheduling to the end of a turn,
 * makes sure exactly one thread writes a connection at a time, so our frames, pings and our close
 * never interleave on the socket. (Helidon itself still writes a close frame from its own thread
 * when the peer closes or a frame is too large; the connection is over by then.)
 */
final class Outbound implements Delivery {
    private static final System.Logger LOG = System.getLogger(Outbound.class.getName());
    /** Queue bytes charged for a publication not encoded yet. */
    private static final int UNENCODED_ESTIMATE = 512;
    /** A batch is written once it holds this many bytes, even if more is queued. */
    static final int MAX_BATCH_BYTES = 64 * 1024;

    /** What the writer does next: a {@link Frame}, or one of these. */
    private sealed interface Command {
    }

    private record Unencoded(Publication publication) implements Command {
    }

    private record Ping() implements Command {
    }

    private record Pong(byte[] payload) implements Command {
    }

    private record Close(int code, String reason, Optional<String> lastFrame) implements Command {
    }

    /** The connection's session, as its queue and writer tell it what happened. */
    interface Owner {
        /** The writer has finished, with the close code it sent (0 if the socket failed). */
        void writerFinished(int closeCode);

        /** The queue is full: the connection is a slow consumer. */
        void overflowed();

        /** A notice for the client that answers no request (queued as an {@code error}). */
        void notice(Result.Failed notice);
    }

    /*
     * The flags and counters are volatile fields updated through VarHandles, with the same
     * semantics as the atomics they replace: an Atomic* object per field cost 16-24 bytes and
     * a reference per connection.
     */
    private static final VarHandle WRITING;
    private static final VarHandle DONE;
    private static final VarHandle PING_QUEUED;
    private static final VarHandle PONG_QUEUED;
    private static final VarHandle QUEUED;
    private static final VarHandle QUEUED_BYTES;
    private static final VarHandle DEFERRED;
    private static final VarHandle BATCHED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WRITING = l.findVarHandle(Outbound.class, "writing", boolean.class);
            DONE = l.findVarHandle(Outbound.class, "done", boolean.class);
            PING_QUEUED = l.findVarHandle(Outbound.class, "pingQueued", boolean.class);
            PONG_QUEUED = l.findVarHandle(Outbound.class, "pongQueued", boolean.class);
            QUEUED = l.findVarHandle(Outbound.class, "queued", int.class);
            QUEUED_BYTES = l.findVarHandle(Outbound.class, "queuedBytes", long.class);
            DEFERRED = l.findVarHandle(Outbound.class, "deferred", boolean.class);
            BATCHED = l.findVarHandle(Outbound.class, "batched", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link Frame}s and {@link Command}s. */
    private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
    /**
     * Held by whoever may write: a running writer, or, for good, the writer that wrote the close
     * or the {@link #stop} that found none running. Only its holder touches the transport.
     * Updated through {@link #WRITING}.
     */
    private volatile boolean writing;
    /** Set once, through {@link #DONE}, when the session has been told the writing is over. */
    private volatile boolean done;
    /** Set by {@link #stop}: the writer writes nothing more and ends the connection's writing. */
    private volatile boolean stopped;
    /** A runner the watchdog left with this connection alone (its write blocked), for {@link #stop} to interrupt. */
    private volatile Thread dedicated;
    private final Writers.Shard shard;
    /** Frames queued, through {@link #QUEUED}. */
    private volatile int queued;
    /** Bytes queued, through {@link #QUEUED_BYTES}. */
    private volatile long queuedBytes;
    private final int maxMessages;
    private final long maxBytes;
    private final Transport transport;
    private final Telemetry telemetry;
    private final Owner owner;
    private final Function<Publication, String> encoder;
    private final String name;
    private volatile boolean closing;
    /** A ping waits in the queue (through {@link #PING_QUEUED}). */
    private volatile boolean pingQueued;
    /** A pong waits in the queue (through {@link #PONG_QUEUED}). */
    private volatile boolean pongQueued;
    private volatile boolean finished;
    /**
     * The writing flag is held and the connection waits on its shard for a batch's delay, not on
     * its ready queue; whoever takes it back (through {@link #DEFERRED}) schedules the write.
     */
    private volatile boolean deferred;
    /** Something that must not wait for a batch's delay was queued during the wait. */
    private volatile boolean urgent;
    /** The delay of the wait the connection is in (nanoseconds), while {@link #deferred}. */
    private volatile long deferredNanos;
    /** Batched frames queued since the last turn began, through {@link #BATCHED}. */
    private volatile int batched;
    /** Socket writes (transport sends) so far: frames laid end to end count once. */
    private volatile long writes;
    private final Batching batching;

    Outbound(String name, Transport transport, SessionLimits limits, Telemetry telemetry,
             Function<Publication, String> encoder, Writers.Shard shard, Owner owner) {
        this(name, transport, limits, telemetry, encoder, shard, owner, Batching.NONE);
    }

    Outbound(String name, Transport transport, SessionLimits limits, Telemetry telemetry,
             Function<Publication, String> encoder, Writers.Shard shard, Owner owner, Batching batching) {
        this.name = name;
        this.batching = batching;
        this.shard = shard;
        this.encoder = encoder;
        this.transport = transport;
        this.maxMessages = limits.outboundQueueMessages();
        this.maxBytes = limits.outboundQueueBytes();
        this.telemetry = telemetry;
        this.owner = owner;
    }

    /** The connection's name (session id), for logs. */
    String name() {
        return name;
    }

    /**
     * Queues a frame: one made for this connection (a reply, an error, a notice), or a live
     * publication's, whose bytes are shared with its other subscribers.
     *
     * @return false when the queue is over its bounds (the caller closes as slow consumer) or
     *         the connection is closing
     */
    boolean offer(Frame frame) {
        if (!reserve(frame)) {
            return false;
        }
        enqueue(frame);
        return true;
    }

    /** Counts a frame into the queue's bounds; false when over them or closing. */
    private boolean reserve(Frame frame) {
        if (closing) {
            return false;
        }
        long len = frame.utf8().length;
        if ((int) QUEUED.getAndAdd(this, 1) + 1 > maxMessages || (long) QUEUED_BYTES.getAndAdd(this, len) + len > maxBytes) {
            QUEUED.getAndAdd(this, -1);
            QUEUED_BYTES.getAndAdd(this, -len);
            return false;
        }
        return true;
    }

    /**
     * Queues a live publication, its frame encoded once for all its subscribers; one of a
     * batching namespace may wait for others (see the class comment).
     */
    @Override
    public boolean live(Publication publication, Encoded frame) {
        Frame f = Frame.of(publication, frame.utf8(), frame.op());
        Optional<Namespace.Batch> batch = batching.of(publication);
        if (batch.isEmpty()) {
            return offer(f);
        }
        if (!reserve(f)) {
            return false;
        }
        queue.add(f);
        int waiting = (int) BATCHED.getAndAdd(this, 1) + 1;
        if (!writing && WRITING.compareAndSet(this, false, true)) {
            if (waiting >= batch.get().maxSize()) {
                shard.schedule(this);
                return true;
            }
            long delay = batch.get().maxDelay().toNanos();
            deferredNanos = delay;
            deferred = true;
            shard.defer(this, delay);
            if (urgent) {
                expedite(); // something urgent came while the flag was taken but the wait not yet set
            }
        } else if (waiting >= batch.get().maxSize() || batch.get().maxDelay().toNanos() < deferredNanos) {
            expedite(); // full, or a frame that may not wait as long as the wait it would join
        }
        return true;
    }

    /** Ends a batch's wait early: the connection goes on its shard's ready queue now. */
    private void expedite() {
        if (deferred && DEFERRED.compareAndSet(this, true, false)) {
            shard.schedule(this);
        }
    }

    /**
     * Called by the shard when a batch's delay has passed: true when the connection is still
     * waiting and the caller now schedules its write (false: someone expedited it already).
     */
    boolean delayPassed() {
        return deferred && DEFERRED.compareAndSet(this, true, false);
    }

    /**
     * Whether no writer holds the connection: a frame that arrives while one does goes out in
     * that writer's turn, without waiting for its batch's delay.
     */
    boolean atRest() {
        return !writing;
    }

    /** Socket writes so far (each a {@link Transport#send} of one or more frames). */
    long writes() {
        return writes;
    }

    /**
     * Queues a publication the writer encodes itself (replays: not worth encoding on the
     * caller's thread, which may hold a channel lock). Counted with an estimated size.
     */
    @Override
    public boolean replay(Publication publication) {
        if (closing) {
            return false;
        }
        if ((int) QUEUED.getAndAdd(this, 1) + 1 > maxMessages
                || (long) QUEUED_BYTES.getAndAdd(this, (long) UNENCODED_ESTIMATE) + UNENCODED_ESTIMATE > maxBytes) {
            QUEUED.getAndAdd(this, -1);
            QUEUED_BYTES.getAndAdd(this, (long) -UNENCODED_ESTIMATE);
            return false;
        }
        enqueue(new Unencoded(publication));
        return true;
    }

    @Override
    public void overflowed() {
        owner.overflowed();
    }

    @Override
    public void notice(Result.Failed notice) {
        owner.notice(notice);
    }

    /** Queues a ping unless closing or one is still waiting (a stuck peer must not grow the queue). */
    void ping() {
        if (!closing && PING_QUEUED.compareAndSet(this, false, true)) {
            enqueue(new Ping());
        }
    }

    /** Queues a pong answering the peer's ping unless closing or one is still waiting. */
    void pong(byte[] payload) {
        if (!closing && PONG_QUEUED.compareAndSet(this, false, true)) {
            enqueue(new Pong(payload));
        }
    }

    /**
     * Ends the connection: the writer sends {@code lastFrame} (a {@code disconnect}) if given,
     * then the close frame. With {@code discardQueued}, frames still queued are dropped first
     * (a slow consumer would never read them); otherwise they are written before.
     *
     * @return false when a close was already under way
     */
    boolean close(int code, String reason, Optional<String> lastFrame, boolean discardQueued) {
        if (closing) {
            return false;
        }
        closing = true;
        if (discardQueued) {
            queue.clear();
            queued = 0;
            queuedBytes = 0;
        }
        enqueue(new Close(code, reason, lastFrame));
        return true;
    }

    private void enqueue(Object item) {
        queue.add(item);
        if (!writing && WRITING.compareAndSet(this, false, true)) {
            shard.schedule(this);
        } else {
            urgent = true; // read by a batch's wait being set up meanwhile
            expedite();
        }
    }

    /** Stops the writing without writing anything more (the peer is gone). */
    void stop() {
        stopped = true;
        closing = true;
        if (WRITING.compareAndSet(this, false, true)) {
            finish(0); // nobody writes, and nobody will: this is the end
            return;
        }
        expedite(); // a connection waiting for a batch ends now, not after the delay
        // a scheduled or running turn sees the flag; a write blocked on a dead peer is unblocked
        // by interrupting its (dedicated) writer, which closes the socket
        Thread t = dedicated;
        if (t != null) {
            t.interrupt();
        }
    }

    /**
     * Called by the watchdog when this connection's write blocked and its runner now writes
     * this connection alone.
     */
    void detachedTo(Thread runner) {
        dedicated = runner;
        if (stopped) {
            runner.interrupt(); // stop() may have looked before the runner was dedicated
        }
    }

    boolean finished() {
        return finished;
    }

    /**
     * One writer's turn: writes what is queued, up to {@value #MAX_BATCH_BYTES} bytes, in as few
     * transport calls as pings, pongs and the close allow. The caller holds the writing flag.
     *
     * @param batch scratch list of the caller, empty
     * @return true when more is queued and the caller keeps the writing flag (another turn is
     *         due); false when the flag was released or the connection's writing is over
     */
    boolean writeTurn(List<Frame> batch) {
        try {
            int batchBytes = 0;
            // what this turn takes needs no more hurry; frames queued from here on count anew
            urgent = false;
            batched = 0;
            for (Object item = queue.poll(); item != null; item = queue.poll()) {
                if (stopped) {
                    batch.clear();
                    finish(0);
                    return false;
                }
                if (item instanceof Frame f) {
                    QUEUED.getAndAdd(this, -1);
                    QUEUED_BYTES.getAndAdd(this, (long) -f.utf8().length);
                    batch.add(f);
                    batchBytes += f.utf8().length;
                } else {
                    switch ((Command) item) {
                        case Unencoded u -> {
                            QUEUED.getAndAdd(this, -1);
                            QUEUED_BYTES.getAndAdd(this, (long) -UNENCODED_ESTIMATE);
                            Publication p = u.publication();
                            Frame f = Frame.of(p, encoder.apply(p).getBytes(StandardCharsets.UTF_8), p.frameOp());
                            batch.add(f);
                            batchBytes += f.utf8().length;
                        }
                        case Ping p -> {
                            flush(batch);
                            batchBytes = 0;
                            pingQueued = false;
                            transport.ping();
                        }
                        case Pong p -> {
                            flush(batch);
                            batchBytes = 0;
                            pongQueued = false;
                            transport.pong(p.payload());
                        }
                        case Close c -> {
                            if (c.lastFrame().isPresent()) {
                                batch.add(Frame.of(c.lastFrame().get().getBytes(StandardCharsets.UTF_8), "disconnect"));
                            }
                            flush(batch);
                            transport.close(c.code(), c.reason());
                            finish(c.code()); // keeps the writing flag: nothing is written after a close
                            return false;
                        }
                    }
                }
                if (batchBytes >= MAX_BATCH_BYTES) {
                    flush(batch);
                    return true; // the rest at the next turn, after the shard's other connections
                }
            }
            flush(batch);
            // anything queued since the last poll is found by the check below
            urgent = false;
            batched = 0;
            writing = false;
            if (stopped && WRITING.compareAndSet(this, false, true)) {
                finish(0); // stop() found the connection scheduled and left the end to its writer
                return false;
            }
            // an item added after the last poll but before the flag was cleared found the flag
            // set and did not schedule the connection: take it on, unless someone else did
            return !queue.isEmpty() && WRITING.compareAndSet(this, false, true);
        } catch (IOException | RuntimeException e) {
            batch.clear();
            LOG.log(System.Logger.Level.DEBUG, () -> "connection " + name + ": write failed: " + e);
            // the peer is gone without a close, unless the session stopped the writing (and
            // counted the end itself)
            finish(stopped ? 0 : DROPPED);
            return false;
        }
    }

    /**
     * The close code of a connection whose peer went away without a close (RFC 6455's 1006, which
     * is never sent, only reported): a write that failed, a stream whose client left.
     */
    static final int DROPPED = 1006;

    /** Tells the session the writing is over, once. */
    private void finish(int closeCode) {
        closing = true;
        if (DONE.compareAndSet(this, false, true)) {
            finished = true;
            owner.writerFinished(closeCode);
        }
    }

    /** Writes the batch in one {@link Transport#send}, then counts what went out. */
    private void flush(List<Frame> batch) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        transport.send(batch);
        writes++; // only the writing-flag holder writes
        // counted per op run and once per write: per-frame metric updates cost more than the write
        long oldest = 0;
        int delivered = 0;
        String op = batch.get(0).op();
        int run = 0;
        for (Frame f : batch) {
            if (!f.op().equals(op)) {
                telemetry.framesOut(op, run);
                op = f.op();
                run = 0;
            }
            run++;
            if (f.delivery()) {
                delivered++;
                if (oldest == 0) {
                    oldest = f.acceptedNanos();
                }
            }
        }
        telemetry.framesOut(op, run);
        if (delivered > 0) {
            telemetry.delivered(delivered, System.nanoTime() - oldest);
        }
        batch.clear();
    }
}
