package dev.tandem.session;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ServerFrame;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A {@link Transport} that records what the engine writes: frames (decoded), pings, pongs, the
 * close code. It can be made to block in {@link #send} (a slow or dead peer; the block ends
 * when the writer is interrupted, as a socket write does), and checks the contract that one
 * call runs at a time.
 */
final class TestTransport implements Transport {
    static final Duration WAIT = Duration.ofSeconds(5);

    private final FrameCodec codec;
    private final LinkedBlockingQueue<ServerFrame> frames = new LinkedBlockingQueue<>();
    private final List<String> log = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    private final AtomicInteger pings = new AtomicInteger();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final CountDownLatch interrupted = new CountDownLatch(1);
    private final List<byte[]> pongs = new CopyOnWriteArrayList<>();
    private final AtomicReference<Thread> writer = new AtomicReference<>();
    private volatile String closeReason;
    private volatile CountDownLatch gate;
    private volatile CountDownLatch blockedInSend = new CountDownLatch(1);
    private volatile Runnable onPing = () -> { };

    TestTransport(FrameCodec codec) {
        this.codec = codec;
    }

    // ------------------------------------------------------------------ Transport

    /** Records how many frames each write carried, then takes them one by one. */
    @Override
    public void send(List<Frame> frames) throws IOException {
        batchSizes.add(frames.size());
        for (Frame f : frames) {
            send(new String(f.utf8(), java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private void send(String text) throws IOException {
        enter("send");
        try {
            if (closed.isDone()) {
                violations.add("send after close");
            }
            CountDownLatch g = gate;
            if (g != null) {
                blockedInSend.countDown();
                try {
                    g.await();
                } catch (InterruptedException e) {
                    log.add("interrupted");
                    interrupted.countDown();
                    throw new java.io.InterruptedIOException("interrupted");
                }
            }
            ServerFrame frame = codec.decodeServer(text);
            log.add(frame.op());
            frames.add(frame);
        } finally {
            exit();
        }
    }

    /** How many frames each {@link #send} carried, in order. */
    List<Integer> batchSizes() {
        return List.copyOf(batchSizes);
    }

    @Override
    public void ping() {
        enter("ping");
        try {
            pings.incrementAndGet();
            log.add("ping");
            onPing.run();
        } finally {
            exit();
        }
    }

    @Override
    public void pong(byte[] payload) {
        enter("pong");
        try {
            pongs.add(payload.clone());
            log.add("pong");
        } finally {
            exit();
        }
    }

    @Override
    public void close(int code, String reason) {
        enter("close");
        try {
            if (reason.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 123) {
                violations.add("close reason longer than 123 bytes");
            }
            log.add("close:" + code);
            closeReason = reason;
            if (!closed.complete(code)) {
                violations.add("closed twice");
            }
        } finally {
            exit();
        }
    }

    @Override
    public String remoteAddress() {
        return "192.0.2.1:4711";
    }

    /** The contract: one call at a time (writers may be different threads, one after another). */
    private void enter(String what) {
        Thread me = Thread.currentThread();
        Thread other = writer.compareAndExchange(null, me);
        if (other != null && other != me) {
            violations.add(what + " from " + me + " while " + other + " was still in a call");
        }
    }

    private void exit() {
        writer.compareAndSet(Thread.currentThread(), null);
    }

    // ------------------------------------------------------------------ control

    /** From now on, {@link #send} blocks until {@link #unblock} (or the writer is interrupted). */
    void block() {
        blockedInSend = new CountDownLatch(1);
        gate = new CountDownLatch(1);
    }

    /** Lets blocked and later sends through. */
    void unblock() {
        CountDownLatch g = gate;
        gate = null;
        if (g != null) {
            g.countDown();
        }
    }

    /** Waits until the writer is blocked in {@link #send}. */
    void awaitBlockedInSend() throws InterruptedException {
        if (!blockedInSend.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            fail("the writer never tried to send");
        }
    }

    /** Runs on every ping, on the writer thread (e.g. to answer it). */
    void onPing(Runnable r) {
        onPing = r;
    }

    // ------------------------------------------------------------------ inspection

    /** The next frame written, waiting for it. */
    ServerFrame next() {
        try {
            ServerFrame f = frames.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (f == null) {
                fail("no frame within " + WAIT + "; log so far: " + log);
            }
            return f;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** The next frame, which must be of the given type. */
    <T extends ServerFrame> T next(Class<T> type) {
        ServerFrame f = next();
        return assertInstanceOf(type, f, () -> "expected " + type.getSimpleName() + ", got " + f);
    }

    /** The next frame, which must be the reply to {@code id}. */
    ServerFrame.Reply reply(long id) {
        ServerFrame.Reply r = next(ServerFrame.Reply.class);
        assertEquals(id, r.id(), () -> "reply to the wrong request: " + r);
        return r;
    }

    /** The next frame, which must be the error answering {@code id} with {@code code}. */
    ServerFrame.Error error(long id, dev.tandem.protocol.ErrorCode code) {
        ServerFrame.Error e = next(ServerFrame.Error.class);
        assertEquals(id, e.id(), () -> "error for the wrong request: " + e);
        assertEquals(code, e.code(), () -> "unexpected code: " + e);
        return e;
    }

    /** Frames written but not taken yet. */
    List<ServerFrame> drain() {
        List<ServerFrame> l = new ArrayList<>();
        frames.drainTo(l);
        return l;
    }

    /** Waits for the close and returns its code. */
    int awaitClose() {
        try {
            return closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("not closed within " + WAIT + "; log: " + log);
        } catch (InterruptedException | ExecutionException e) {
            throw new AssertionError(e);
        }
    }

    boolean isClosed() {
        return closed.isDone();
    }

    String closeReason() {
        return closeReason;
    }

    /** Waits until the writer was interrupted while blocked in {@link #send}. */
    void awaitInterrupted() throws InterruptedException {
        if (!interrupted.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
            fail("the blocked writer was not interrupted within " + WAIT + "; log: " + log);
        }
    }

    List<byte[]> pongs() {
        return List.copyOf(pongs);
    }

    int pings() {
        return pings.get();
    }

    /** Everything that happened, in order: frame ops, {@code ping}, {@code pong}, {@code close:CODE}, {@code interrupted}. */
    List<String> log() {
        return List.copyOf(log);
    }

    /** Breaches of the transport contract seen so far. */
    List<String> violations() {
        return List.copyOf(violations);
    }
}
