package dev.tandem.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy to a server (Redis) that a test can freeze: while frozen, every byte in either
 * direction is held (not dropped) and no connection is closed, new connections are accepted
 * but carry nothing, so the server looks alive but hangs, like a stalled host or a network
 * partition that drops nothing. Unfrozen, the held bytes flow on in order. It stands in for the
 * network, so it pumps on platform threads: the test's own virtual threads (hundreds of clients)
 * must not delay its bytes.
 */
public final class FreezingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private volatile boolean frozen;
    private volatile boolean closed;

    /** A proxy on a free loopback port to {@code targetHost:targetPort}. */
    public FreezingProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("freezing-proxy-accept").start(this::accept);
    }

    /** The proxy's port. */
    public int port() {
        return server.getLocalPort();
    }

    /** {@code redis://127.0.0.1:PORT}: the proxy as a Redis address. */
    public String redisUrl() {
        return "redis://127.0.0.1:" + port();
    }

    /** Holds every byte from now on until {@link #unfreeze()}. */
    public void freeze() {
        frozen = true;
    }

    /** Lets the held bytes, and everything after them, flow again. */
    public void unfreeze() {
        synchronized (gate) {
            frozen = false;
            gate.notifyAll();
        }
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                sockets.add(client);
                Thread.ofPlatform().daemon().name("freezing-proxy-conn").start(() -> connect(client));
            } catch (IOException e) {
                if (!closed) {
                    System.getLogger(FreezingProxy.class.getName()).log(System.Logger.Level.WARNING, "accept failed", e);
                }
            }
        }
    }

    private void connect(Socket client) {
        awaitThawed(); // a connection opened while frozen is accepted, then hangs
        try {
            Socket upstream = new Socket(targetHost, targetPort);
            sockets.add(upstream);
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            Thread.ofPlatform().daemon().name("freezing-proxy-up").start(() -> pump(client, upstream));
            pump(upstream, client);
        } catch (IOException e) {
            closeQuietly(client);
        }
    }

    /** Copies {@code from} to {@code to}; bytes read while frozen wait before they are written. */
    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                awaitThawed();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // one side closed: close the other
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void awaitThawed() {
        synchronized (gate) {
            while (frozen && !closed) {
                try {
                    gate.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        unfreeze();
        closeQuietly(server);
        sockets.forEach(FreezingProxy::closeQuietly);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // closing anyway
        }
    }
}
