package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

/**
 * One document kept current ({@link Documents#watch}). It subscribes to {@code doc:{type}:{id}}
 * asking for a snapshot, so the document and the channel's position come together; later
 * changes arrive as {@code doc.changed} / {@code doc.deleted} events, and any at or below the
 * version held are dropped (they were in the snapshot). After a reconnect the subscription
 * resumes from its position, and the snapshot of the new subscribe reply replaces the document
 * when it is newer. Against a server without snapshots it reads the document ({@code doc.get})
 * after subscribing, which is as safe, one round trip later.
 *
 * <p>One live view per channel and client: {@link #close()} unsubscribes the channel.
 * Listeners run on the client's receive thread and must not block.
 */
public final class LiveDocument implements AutoCloseable {
    private static final long RETRY_MS = 500;
    private static final System.Logger LOG = System.getLogger(LiveDocument.class.getName());

    private final TandemClient client;
    private final Documents docs;
    private final String docType;
    private final String docId;
    private final String channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final CompletableFuture<Optional<Doc>> ready = new CompletableFuture<>();
    private final List<Consumer<Optional<Doc>>> onChange = new CopyOnWriteArrayList<>();
    private final List<Consumer<TandemClientException>> onError = new CopyOnWriteArrayList<>();
    private final Runnable removeListener;
    private Optional<Doc> current = Optional.empty(); // guarded by lock
    private boolean loaded; // guarded by lock
    private volatile boolean closed;

    LiveDocument(TandemClient client, Documents docs, String docType, String docId) {
        this.client = client;
        this.docs = docs;
        this.docType = Objects.requireNonNull(docType, "docType");
        this.docId = Objects.requireNonNull(docId, "docId");
        this.channel = "doc:" + docType + ":" + docId;
        removeListener = client.addChannelListener(channel, new TandemClient.ChannelListener() {
            @Override
            public void subscribed(ServerFrame.Reply reply) {
                LiveDocument.this.subscribed(reply);
            }

            @Override
            public void event(ServerFrame.Event event) {
                LiveDocument.this.event(event);
            }

            @Override
            public void recoveryLost(Position top) {
                reread(); // e.g. a live event in a new epoch: changes before it may be lost
            }

            @Override
            public void ended(TandemClientException error) {
                failed(error);
            }
        });
        subscribe();
    }

    /** Subscribes once connected; a transient failure (the connection dropped meanwhile) tries again. */
    private void subscribe() {
        docs.whenConnected().thenCompose(x -> client.subscribe(channel, Optional.empty(), true))
                .whenComplete((r, e) -> {
                    if (e == null || closed) {
                        return;
                    }
                    Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                            ? e.getCause() : e;
                    TandemClientException t = cause instanceof TandemClientException x ? x
                            : new TandemClientException(dev.tandem.protocol.ErrorCode.INTERNAL, String.valueOf(cause));
                    if (t.code().map(dev.tandem.protocol.ErrorCode::isTransient).orElse(true)) {
                        LOG.log(Level.DEBUG, "subscribing {0} failed for now, trying again: {1}", channel, t.getMessage());
                        CompletableFuture.delayedExecutor(RETRY_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
                                .execute(this::subscribe);
                    } else {
                        failed(t);
                    }
                });
    }

    /** The channel followed, {@code doc:{type}:{id}}. */
    public String channel() {
        return channel;
    }

    /** Completes with the first state (empty: no such document), or fails when subscribing is refused. */
    public CompletableFuture<Optional<Doc>> ready() {
        return ready;
    }

    /** The document now: empty before the first load or when it does not exist. */
    public Optional<Doc> doc() {
        lock.lock();
        try {
            return current;
        } finally {
            lock.unlock();
        }
    }

    /** Listens to changes (empty: the document does not exist); returns the remover. */
    public Runnable onChange(Consumer<Optional<Doc>> listener) {
        onChange.add(Objects.requireNonNull(listener, "listener"));
        return () -> onChange.remove(listener);
    }

    /** Listens to failures for good (e.g. {@code forbidden}); returns the remover. */
    public Runnable onError(Consumer<TandemClientException> listener) {
        onError.add(Objects.requireNonNull(listener, "listener"));
        return () -> onError.remove(listener);
    }

    /** Stops following and unsubscribes the channel. */
    @Override
    public void close() {
        closed = true;
        removeListener.run();
        client.unsubscribe(channel).whenComplete((r, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "unsubscribing {0}: {1}", channel, e.getMessage());
            }
        });
    }

    private void subscribed(ServerFrame.Reply reply) {
        JsonNode body = reply.body();
        if (body.has("document")) {
            apply(Doc.from(body.get("document")));
            return;
        }
        reread();
    }

    /** Reads the document again ({@code doc.get}); a newer version replaces the one held. */
    private void reread() {
        if (closed) {
            return;
        }
        docs.get(docType, docId).whenComplete((doc, e) -> {
            if (e == null) {
                apply(doc);
            } else {
                LOG.log(Level.WARNING, "reading {0} failed: {1}", channel, e.getMessage());
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                if (cause instanceof TandemClientException t && t.code().map(c -> !c.isTransient()).orElse(false)) {
                    failed(t);
                }
            }
        });
    }

    private void event(ServerFrame.Event e) {
        if (!"doc.changed".equals(e.type()) && !"doc.deleted".equals(e.type())) {
            return;
        }
        Doc.from(e.data()).filter(d -> d.docType().equals(docType) && d.docId().equals(docId))
                .ifPresent(d -> apply(Optional.of(d)));
    }

    private void apply(Optional<Doc> doc) {
        boolean changed;
        Optional<Doc> now;
        lock.lock();
        try {
            if (doc.isEmpty()) {
                changed = !loaded;
            } else {
                changed = current.map(held -> doc.get().version() > held.version()).orElse(true);
                if (changed) {
                    current = doc;
                    docs.saw(doc.get());
                }
            }
            loaded = true;
            now = current;
        } finally {
            lock.unlock();
        }
        ready.complete(now);
        if (changed) {
            for (Consumer<Optional<Doc>> l : onChange) {
                try {
                    l.accept(now);
                } catch (RuntimeException ex) {
                    LOG.log(Level.WARNING, "a live document listener failed", ex);
                }
            }
        }
    }

    private void failed(TandemClientException e) {
        ready.completeExceptionally(e);
        for (Consumer<TandemClientException> l : onError) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "a live document listener failed", ex);
            }
        }
    }

}
