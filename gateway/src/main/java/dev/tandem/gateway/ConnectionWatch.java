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
 * map entry per connection (the connection itself is the key: no record or lambda per
 * connection, which matters at tens of thousands of idle connections) and one timer thread per
 * node.
 */
final class ConnectionWatch implements AutoCloseable {
    private final Map<Watched, Thread> watched = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer;

    /** A connection the watch can end: {@link #dropped()} is called once its thread has ended. */
    interface Watched {
        /** The connection's thread ended without the connection being forgotten first. */
        void dropped();
    }

    ConnectionWatch(long periodMs) {
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tandem-connection-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    /** Calls {@code connection.dropped()} once {@code thread} (its thread) has terminated, unless forgotten first. */
    void watch(Watched connection, Thread thread) {
        watched.put(connection, thread);
    }

    /** The connection ended the ordinary way. */
    void forget(Watched connection) {
        watched.remove(connection);
    }

    /** How many connections are watched (tests). */
    int size() {
        return watched.size();
    }

    private void check() {
        for (Map.Entry<Watched, Thread> e : watched.entrySet()) {
            if (!e.getValue().isAlive() && watched.remove(e.getKey(), e.getValue())) {
                // ending a session may call Redis (unsubscribe, presence): never on this timer
                Watched connection = e.getKey();
                Thread.ofVirtual().name("tandem-dropped-connection").start(() -> {
                    try {
                        connection.dropped();
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
