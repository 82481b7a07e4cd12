package dev.tandem.gateway;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Notices WebSocket connections that ended without Helidon telling their listener. In Helidon
 * 4.1.2 a connection whose TCP socket is cut without a close frame ({@code WsConnection.readFrame}
 * turns the end of the stream into a {@code CloseConnectionException}), or that sent an oversize
 * frame, leaves {@code WsConnection.handle} by an exception: neither {@code onClose} nor
 * {@code onError} is called, and the session, its presence and the address's connection slot
 * would stay until a heartbeat write failed (about 25 s). Every listener callback runs on the
 * connection's own (virtual) thread, which ends when the connection ends; this watch checks
 * those threads a few times a second and ends the sessions whose thread is gone. It costs one
 * map entry per connection and one timer thread per node.
 */
final class ConnectionWatch implements AutoCloseable {
    private final Map<Object, Watched> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;

    private record Watched(Thread thread, Runnable ended) {
    }

    ConnectionWatch(long periodMs) {
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tandem-connection-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code ended} once {@code thread} (a connection's thread) has terminated, unless forgotten first. */
    void watch(Object connection, Thread thread, Runnable ended) {
        watched.put(connection, new Watched(thread, ended));
    }

    /** The connection ended the ordinary way. */
    void forget(Object connection) {
        watched.remove(connection);
    }

    /** How many connections are watched (tests). */
    int size() {
        return watched.size();
    }

    private void check() {
        for (Map.Entry<Object, Watched> e : watched.entrySet()) {
            if (!e.getValue().thread().isAlive() && watched.remove(e.getKey(), e.getValue())) {
                // ending a session may call Redis (unsubscribe, presence): never on this timer
                Runnable ended = e.getValue().ended();
                Thread.ofVirtual().name("tandem-dropped-connection").start(() -> {
                    try {
                        ended.run();
                    } catch (RuntimeException ex) {
                        System.getLogger(ConnectionWatch.class.getName()).log(System.Logger.Level.WARNING,
                                "ending a dropped connection failed", ex);
                    }
                });
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
