package dev.tandem.it.client;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import dev.tandem.client.Documents;
import dev.tandem.client.TandemClient;

/**
 * One user of a generated scenario: a Java client with its journal, behind a network of its own
 * (a {@link CuttableProxy}) that goes down and comes back, and a process that restarts (a new
 * client on the same journal). Every status report of every client it runs goes to one listener.
 */
final class SimUser implements AutoCloseable {
    final String name;
    private final TestUsers users;
    private final CuttableProxy network;
    private final Path journal;
    private final Documents.Listener listener;
    private TandemClient client;
    private boolean online = true;

    SimUser(String name, TestUsers users, int gatewayPort, Path journal, Documents.Listener listener) throws Exception {
        this.name = name;
        this.users = users;
        this.network = new CuttableProxy(gatewayPort);
        this.journal = journal;
        this.listener = listener;
        start();
    }

    private void start() throws Exception {
        client = users.client(name, network.port()).queue(journal).inbox(true).build();
        client.documents().addListener(listener);
        if (online) {
            client.connect();
            awaitConnected();
        }
    }

    Documents docs() {
        return client.documents();
    }

    boolean isOnline() {
        return online;
    }

    /** The network goes away: the connection is cut and new ones are refused. */
    void goOffline() {
        online = false;
        network.refuse(true);
    }

    /** The network is back; a client that never connected connects now. */
    void goOnline() {
        online = true;
        network.refuse(false);
        if (client.state() == TandemClient.State.CLOSED) {
            client.connect();
        }
    }

    /**
     * Waits until the client is connected (after {@link #goOnline()}); a first connection that
     * failed is tried again, as the client leaves that to the application.
     */
    void awaitConnected() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        // the welcome of a connection that is still up: what a request needs
        while (client.welcome().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(name + " did not reconnect: " + client.state());
            }
            if (client.state() == TandemClient.State.CLOSED) {
                client.connect();
            }
            Thread.sleep(20);
        }
    }

    /** The reply to the next {@code sync} never arrives: the connection is cut as the server sends it. */
    void loseNextSyncReply() {
        network.cutWhenServerSends("\"results\"");
    }

    /** Replies are no longer cut (a request whose answer the test must see is about to be sent). */
    void keepReplies() {
        network.cutWhenServerSends(null);
    }

    /** The process ends (whatever was in flight is lost with it) and starts again on the same journal. */
    void restart() throws Exception {
        client.close();
        start();
    }

    @Override
    public void close() {
        client.close();
        network.close();
    }
}
