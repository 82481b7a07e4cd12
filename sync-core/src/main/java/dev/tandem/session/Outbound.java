package dev.tandem.session;

import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import dev.tandem.hub.Publication;
import dev.tandem.telemetry.Telemetry;

/**
 * One connection's bounded outbound queue and the single writer (a virtual thread) that drains
 * it to the {@link Transport}. Publishers only ever enqueue, so a slow socket never blocks
 * them; when the queue is over its bounds, {@link #offer} says so and the session closes the
 * connection as a slow consumer.
 *
 * <p>Because only the writer touches the transport, our frames, pings and our close never
 * interleave on the socket. (Helidon itself still writes a close frame from its own thread when
 * the peer closes or a frame is too large; the connection is over by then.)
 */
final class Outbound {
    private static final System.Logger LOG = System.getLogger(Outbound.class.getName());
    /** Queue bytes charged for a publication not encoded yet. */
    private static final int UNENCODED_ESTIMATE = 512;

    /** What the writer does next. */
    private sealed interface Item {
    }

    private record Text(String text, String op, long acceptedNanos) implements Item {
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

    private final LinkedBlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final int maxMessages;
    private final long maxBytes;
    private final Transport transport;
    private final Telemetry telemetry;
    private final Done done;
    private final Function<Publication, String> encoder;
    private final String name;
    private volatile boolean closing;
    private final java.util.concurrent.atomic.AtomicBoolean pingQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicBoolean pongQueued = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean finished;
    private Thread writer;

    Outbound(String name, Transport transport, SessionLimits limits, Telemetry telemetry,
             Function<Publication, String> encoder, Done done) {
        this.name = name;
        this.encoder = encoder;
        this.transport = transport;
        this.maxMessages = limits.outboundQueueMessages();
        this.maxBytes = limits.outboundQueueBytes();
        this.telemetry = telemetry;
        this.done = done;
    }

    void start() {
        writer = Thread.ofVirtual().name("tandem-writer-" + name).start(this::run);
    }

    /**
     * Queues a text frame.
     *
     * @return false when the queue is over its bounds (the caller closes as slow consumer) or
     *         the connection is closing
     */
    boolean offer(String text, String op, long acceptedNanos) {
        if (closing) {
            return false;
        }
        long len = text.length();
        if (queued.incrementAndGet() > maxMessages || queuedBytes.addAndGet(len) > maxBytes) {
            queued.decrementAndGet();
            queuedBytes.addAndGet(-len);
            return false;
        }
        queue.add(new Text(text, op, acceptedNanos));
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
        queue.add(new Unencoded(publication));
        return true;
    }

    /** Queues a ping unless closing or one is still waiting (a stuck peer must not grow the queue). */
    void ping() {
        if (!closing && pingQueued.compareAndSet(false, true)) {
            queue.add(new Ping());
        }
    }

    /** Queues a pong answering the peer's ping unless closing or one is still waiting. */
    void pong(byte[] payload) {
        if (!closing && pongQueued.compareAndSet(false, true)) {
            queue.add(new Pong(payload));
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
        queue.add(new Close(code, reason, lastFrame));
        return true;
    }

    /** Stops the writer without writing anything more (the peer is gone). */
    void stop() {
        closing = true;
        Thread w = writer;
        if (w != null) {
            w.interrupt();
        }
    }

    boolean finished() {
        return finished;
    }

    private void run() {
        int closeCode = 0;
        try {
            while (true) {
                Item item = queue.take();
                switch (item) {
                    case Text t -> {
                        queued.decrementAndGet();
                        queuedBytes.addAndGet(-t.text().length());
                        transport.send(t.text());
                        telemetry.frameOut(t.op());
                        if (t.acceptedNanos() != 0) {
                            telemetry.delivered(System.nanoTime() - t.acceptedNanos());
                        }
                    }
                    case Unencoded u -> {
                        queued.decrementAndGet();
                        queuedBytes.addAndGet(-UNENCODED_ESTIMATE);
                        transport.send(encoder.apply(u.publication()));
                        telemetry.frameOut("event");
                    }
                    case Ping p -> {
                        pingQueued.set(false);
                        transport.ping();
                    }
                    case Pong p -> {
                        pongQueued.set(false);
                        transport.pong(p.payload());
                    }
                    case Close c -> {
                        closeCode = c.code();
                        if (c.lastFrame().isPresent()) {
                            transport.send(c.lastFrame().get());
                            telemetry.frameOut("disconnect");
                        }
                        transport.close(c.code(), c.reason());
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "connection " + name + ": write failed: " + e);
        } finally {
            finished = true;
            done.writerFinished(closeCode);
        }
    }
}
