package dev.tandem.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import dev.tandem.hub.Publication;
import dev.tandem.telemetry.Telemetry;

/**
 * One connection's bounded outbound queue and the single writer (a virtual thread, started
 * only while there is something to write) that drains it to the {@link Transport}. Publishers only ever enqueue, so a slow socket never blocks
 * them; when the queue is over its bounds, {@link #offer} says so and the session closes the
 * connection as a slow consumer.
 *
 * <p>The writer takes whatever is queued when it wakes and hands the text frames to the
 * transport in one {@link Transport#sendAll} call (one socket write for a WebSocket), up to
 * {@value #MAX_BATCH_BYTES} bytes; a busy connection costs one wake-up and one write per batch
 * instead of per frame. Live publications arrive already encoded to UTF-8 once for all
 * subscribers ({@link dev.tandem.hub.Encoded}) and are written from those shared bytes.
 *
 * <p>The queue is lock-free. A producer that finds no writer running starts one; one that finds
 * it running just appends, so a busy connection costs no wake-up per frame, and an idle one
 * holds no thread (a parked virtual thread keeps its stack: kilobytes per connection).
 * Telemetry is counted per write, not per frame.
 *
 * <p>Because only the writer touches the transport, our frames, pings and our close never
 * interleave on the socket. (Helidon itself still writes a close frame from its own thread when
 * the peer closes or a frame is too large; the connection is over by then.)
 */
final class Outbound {
    private static final System.Logger LOG = System.getLogger(Outbound.class.getName());
    /** Queue bytes charged for a publication not encoded yet. */
    private static final int UNENCODED_ESTIMATE = 512;
    /** A batch is written once it holds this many bytes, even if more is queued. */
    static final int MAX_BATCH_BYTES = 64 * 1024;

    /** What the writer does next. */
    private sealed interface Item {
    }

    /** A text frame in UTF-8 ({@code utf8} may be shared with other connections: read only). */
    private record Text(byte[] utf8, String op, long acceptedNanos) implements Item {
    }

    private record Unencoded(Publication publication) implements Item {
    }

    private record Ping() implements Item {
    }

    private record Pong(byte[] payload) implements Item {
    }

    private record Close(int code, String reason, Optional<String> lastFrame) implements Item {
    }

    /** Told when the writer has finished, with the close code it sent (0 if the socket failed). */
    interface Done {
        void writerFinished(int closeCode);
    }

    private final ConcurrentLinkedQueue<Item> queue = new ConcurrentLinkedQueue<>();
    /**
     * Held by whoever may write: a running writer, or, for good, the writer that wrote the close
     * or the {@link #stop} that found none running. Only its holder touches the transport.
     */
    private final AtomicBoolean writing = new AtomicBoolean();
    private final AtomicBoolean done = new AtomicBoolean();
    /** Set by {@link #stop}: a writer that ends its drain ends the connection's writing too. */
    private volatile boolean stopped;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final int maxMessages;
    private final long maxBytes;
    private final Transport transport;
    private final Telemetry telemetry;
    private final Done whenDone;
    private final Function<Publication, String> encoder;
    private final String name;
    private volatile boolean closing;
    private final AtomicBoolean pingQueued = new AtomicBoolean();
    private final AtomicBoolean pongQueued = new AtomicBoolean();
    private volatile boolean finished;
    /** The running writer, for {@link #stop} to interrupt; cleared when it ends (idle: no thread kept). */
    private final AtomicReference<Thread> writer = new AtomicReference<>();

    Outbound(String name, Transport transport, SessionLimits limits, Telemetry telemetry,
             Function<Publication, String> encoder, Done done) {
        this.name = name;
        this.encoder = encoder;
        this.transport = transport;
        this.maxMessages = limits.outboundQueueMessages();
        this.maxBytes = limits.outboundQueueBytes();
        this.telemetry = telemetry;
        this.whenDone = done;
    }

    /** Nothing runs until there is something to write. */
    void start() {
    }

    /**
     * Queues a text frame made for this connection (a reply, an error, a notice).
     *
     * @return false when the queue is over its bounds (the caller closes as slow consumer) or
     *         the connection is closing
     */
    boolean offer(String text, String op, long acceptedNanos) {
        return offer(text.getBytes(StandardCharsets.UTF_8), op, acceptedNanos);
    }

    /**
     * Queues a text frame already in UTF-8, possibly shared with other connections (a live
     * publication encoded once for all its subscribers).
     *
     * @return false when the queue is over its bounds or the connection is closing
     */
    boolean offer(byte[] utf8, String op, long acceptedNanos) {
        if (closing) {
            return false;
        }
        long len = utf8.length;
        if (queued.incrementAndGet() > maxMessages || queuedBytes.addAndGet(len) > maxBytes) {
            queued.decrementAndGet();
            queuedBytes.addAndGet(-len);
            return false;
        }
        enqueue(new Text(utf8, op, acceptedNanos));
        return true;
    }

    /**
     * Queues a publication the writer encodes itself (replays: not worth encoding on the
     * caller's thread, which may hold a channel lock). Counted with an estimated size.
     */
    boolean offerUnencoded(Publication publication) {
        if (closing) {
            return false;
        }
        if (queued.incrementAndGet() > maxMessages || queuedBytes.addAndGet(UNENCODED_ESTIMATE) > maxBytes) {
            queued.decrementAndGet();
            queuedBytes.addAndGet(-UNENCODED_ESTIMATE);
            return false;
        }
        enqueue(new Unencoded(publication));
        return true;
    }

    /** Queues a ping unless closing or one is still waiting (a stuck peer must not grow the queue). */
    void ping() {
        if (!closing && pingQueued.compareAndSet(false, true)) {
            enqueue(new Ping());
        }
    }

    /** Queues a pong answering the peer's ping unless closing or one is still waiting. */
    void pong(byte[] payload) {
        if (!closing && pongQueued.compareAndSet(false, true)) {
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
            queued.set(0);
            queuedBytes.set(0);
        }
        enqueue(new Close(code, reason, lastFrame));
        return true;
    }

    private void enqueue(Item item) {
        queue.add(item);
        if (!writing.get() && writing.compareAndSet(false, true)) {
            Thread t = Thread.ofVirtual().name("tandem-writer-" + name).unstarted(this::run);
            writer.set(t); // before it runs: stop() interrupts it
            t.start();
        }
    }

    /** Stops the writer without writing anything more (the peer is gone). */
    void stop() {
        stopped = true;
        closing = true;
        if (writing.compareAndSet(false, true)) {
            finish(0); // no writer runs, and none will start: this is the end
            return;
        }
        Thread w = writer.get();
        if (w != null) {
            w.interrupt(); // unblocks a write stuck on a dead peer; the writer finishes
        }
    }

    boolean finished() {
        return finished;
    }

    /** Drains the queue, then ends; another writer starts when something new arrives. */
    private void run() {
        try {
            drain();
        } finally {
            writer.compareAndSet(Thread.currentThread(), null);
        }
    }

    private void drain() {
        List<Text> batch = new ArrayList<>();
        List<byte[]> wire = new ArrayList<>();
        try {
            while (true) {
                int batchBytes = 0;
                for (Item item = queue.poll(); item != null; item = queue.poll()) {
                    switch (item) {
                        case Text t -> {
                            queued.decrementAndGet();
                            queuedBytes.addAndGet(-t.utf8().length);
                            batch.add(t);
                            batchBytes += t.utf8().length;
                        }
                        case Unencoded u -> {
                            queued.decrementAndGet();
                            queuedBytes.addAndGet(-UNENCODED_ESTIMATE);
                            Text t = new Text(encoder.apply(u.publication()).getBytes(StandardCharsets.UTF_8), "event", 0);
                            batch.add(t);
                            batchBytes += t.utf8().length;
                        }
                        case Ping p -> {
                            flush(batch, wire);
                            batchBytes = 0;
                            pingQueued.set(false);
                            transport.ping();
                        }
                        case Pong p -> {
                            flush(batch, wire);
                            batchBytes = 0;
                            pongQueued.set(false);
                            transport.pong(p.payload());
                        }
                        case Close c -> {
                            if (c.lastFrame().isPresent()) {
                                batch.add(new Text(c.lastFrame().get().getBytes(StandardCharsets.UTF_8), "disconnect", 0));
                            }
                            flush(batch, wire);
                            transport.close(c.code(), c.reason());
                            finish(c.code()); // keeps the writing flag: nothing is written after a close
                            return;
                        }
                    }
                    if (batchBytes >= MAX_BATCH_BYTES) {
                        flush(batch, wire);
                        batchBytes = 0;
                    }
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                }
                flush(batch, wire);
                writing.set(false);
                if (stopped && writing.compareAndSet(false, true)) {
                    finish(0); // stop() found this writer running and left the end to it
                    return;
                }
                // an item added after the last poll but before the flag was cleared found the
                // writer running and did not start one: take it on, unless someone else did
                if (queue.isEmpty() || !writing.compareAndSet(false, true)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            finish(0);
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "connection " + name + ": write failed: " + e);
            finish(0);
        }
    }

    /** Tells the session the writing is over, once. */
    private void finish(int closeCode) {
        closing = true;
        if (done.compareAndSet(false, true)) {
            finished = true;
            whenDone.writerFinished(closeCode);
        }
    }

    /** Writes the batch in one {@link Transport#sendAll}, then counts what went out. */
    private void flush(List<Text> batch, List<byte[]> wire) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        for (Text t : batch) {
            wire.add(t.utf8());
        }
        try {
            transport.sendAll(wire);
        } finally {
            wire.clear();
        }
        // counted per op run and once per write: per-frame metric updates cost more than the write
        long oldest = 0;
        int delivered = 0;
        String op = batch.get(0).op();
        int run = 0;
        for (Text t : batch) {
            if (!t.op().equals(op)) {
                telemetry.framesOut(op, run);
                op = t.op();
                run = 0;
            }
            run++;
            if (t.acceptedNanos() != 0) {
                delivered++;
                if (oldest == 0) {
                    oldest = t.acceptedNanos();
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
