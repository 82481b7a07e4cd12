package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

/**
 * The documents of one type whose field equals a value, loaded page by page and then followed
 * ("load, then follow"; {@link Documents#liveQuery}). The first page comes with the position of
 * the channel the documents publish to; once every page is loaded, the query subscribes to that
 * channel from that position, so the server replays everything published since the first read,
 * and each change is applied when its version is above the one held for that document (older
 * ones were already in a page). When the server cannot replay a gap (a long disconnection), or
 * the channel was already followed from another position, it loads again and applies what
 * arrived meanwhile afterwards, in order.
 *
 * <p>Listeners run on the client's receive thread, one at a time, and must not block.
 */
public final class LiveQuery implements AutoCloseable {
    private static final long RETRY_MS = 500;
    private static final System.Logger LOG = System.getLogger(LiveQuery.class.getName());

    /** What happened to one document of the result. */
    public enum Kind {
        /** It joined the result. */
        ADDED,
        /** It changed and still matches. */
        CHANGED,
        /** It was deleted or no longer matches. */
        REMOVED
    }

    /** Hears the result change; every method has a no-op default. */
    public interface Listener {
        /** The whole result was (re)loaded: the first load, and after a gap that could not be replayed. */
        default void reset(Map<String, Doc> documents) {
        }

        /** One document changed. */
        default void change(Kind kind, Doc doc) {
        }

        /** Loading or following failed for good. */
        default void error(TandemClientException error) {
        }
    }

    private record Loaded(List<Doc> docs, Optional<String> channel, Optional<Position> position) {
    }

    private final TandemClient client;
    private final Documents docs;
    private final String docType;
    private final String field;
    private final JsonNode value;
    private final int pageSize;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Void> ready;
    private final ReentrantLock lock = new ReentrantLock();
    // guarded by lock
    private final Map<String, Doc> byId = new LinkedHashMap<>();
    private final Map<String, Long> held = new HashMap<>();
    private List<ServerFrame.Event> buffer;
    private CompletableFuture<Void> reloading;
    private Optional<String> followed = Optional.empty();
    private Runnable removeListener = () -> { };
    private volatile boolean closed;

    LiveQuery(TandemClient client, Documents docs, String docType, String field, JsonNode value, int pageSize) {
        this.client = client;
        this.docs = docs;
        this.docType = Objects.requireNonNull(docType, "docType");
        this.field = Objects.requireNonNull(field, "field");
        this.value = Objects.requireNonNull(value, "value").deepCopy();
        if (pageSize < 1 || pageSize > 500) {
            throw new IllegalArgumentException("pageSize must be 1-500");
        }
        this.pageSize = pageSize;
        ready = new CompletableFuture<>();
        begin();
        ready.whenComplete((x, e) -> {
            if (e != null) {
                fail(e);
            }
        });
    }

    /** Loads and follows once connected; a transient failure (the connection dropped) starts again. */
    private void begin() {
        docs.whenConnected().thenCompose(x -> start()).whenComplete((x, e) -> {
            if (e == null) {
                ready.complete(null);
                return;
            }
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (!closed && cause instanceof TandemClientException t && t.code().map(ErrorCode::isTransient).orElse(true)) {
                LOG.log(Level.DEBUG, "loading {0} failed for now, trying again: {1}", docType, t.getMessage());
                removeListener.run();
                // not at once: a server answering unavailable must not be asked in a tight loop
                CompletableFuture.delayedExecutor(RETRY_MS, java.util.concurrent.TimeUnit.MILLISECONDS)
                        .execute(this::begin);
            } else {
                ready.completeExceptionally(cause);
            }
        });
    }

    /** Adds a listener; returns its remover. */
    public Runnable addListener(Listener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return () -> listeners.remove(listener);
    }

    /** Completes once the first load is complete and following has started. */
    public CompletableFuture<Void> ready() {
        return ready;
    }

    /** The matching documents by id, now (a copy). */
    public Map<String, Doc> documents() {
        lock.lock();
        try {
            return Map.copyOf(byId);
        } finally {
            lock.unlock();
        }
    }

    /** The channel followed: empty before loading, or when the type publishes to none for this filter. */
    public Optional<String> channel() {
        return followed;
    }

    /** Stops following; the channel is unsubscribed unless it was followed before this query. */
    @Override
    public void close() {
        closed = true;
        removeListener.run();
    }

    private CompletableFuture<Void> start() {
        return pages(Optional.empty(), new ArrayList<>(), null).thenCompose(first -> {
            if (closed) {
                return CompletableFuture.completedFuture(null);
            }
            replace(first.docs());
            followed = first.channel();
            if (first.channel().isEmpty() || first.position().isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            String channel = first.channel().get();
            boolean already = client.isSubscribed(channel);
            lock.lock();
            try {
                if (already) {
                    buffer = new ArrayList<>(); // followed from another position: read again while buffering
                }
            } finally {
                lock.unlock();
            }
            removeListener = client.addChannelListener(channel, new TandemClient.ChannelListener() {
                @Override
                public void event(ServerFrame.Event event) {
                    LiveQuery.this.event(event);
                }

                @Override
                public void recoveryLost(Position top) {
                    reload();
                }

                @Override
                public void ended(TandemClientException error) {
                    emit(l -> l.error(error));
                }
            });
            if (already) {
                return reload();
            }
            return client.subscribe(channel, first.position(), false).thenApply(r -> null);
        });
    }

    /** Reads every page; the channel and position are the first page's. */
    private CompletableFuture<Loaded> pages(Optional<String> after, List<Doc> acc, QueryPage first) {
        return docs.query(docType, field, value, pageSize, after).thenCompose(page -> {
            acc.addAll(page.documents());
            QueryPage head = first == null ? page : first;
            if (page.next().isPresent() && !closed) {
                return pages(page.next(), acc, head);
            }
            return CompletableFuture.completedFuture(new Loaded(acc, head.channel(), head.position()));
        });
    }

    /** Loads again while the subscription stays; events that arrive meanwhile are applied after, in order. */
    private CompletableFuture<Void> reload() {
        lock.lock();
        try {
            if (reloading != null) {
                return reloading;
            }
            if (buffer == null) {
                buffer = new ArrayList<>();
            }
            reloading = new CompletableFuture<>();
        } finally {
            lock.unlock();
        }
        CompletableFuture<Void> done = reloading;
        attemptReload(done);
        return done;
    }

    private void attemptReload(CompletableFuture<Void> done) {
        pages(Optional.empty(), new ArrayList<>(), null).whenComplete((loaded, e) -> {
            if (e != null) {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (!closed && cause instanceof TandemClientException t
                        && t.code().map(ErrorCode::isTransient).orElse(true)) {
                    docs.whenConnected().thenRun(() -> attemptReload(done));
                    return;
                }
                lock.lock();
                try {
                    buffer = null;
                    reloading = null;
                } finally {
                    lock.unlock();
                }
                done.completeExceptionally(cause);
                fail(cause);
                return;
            }
            replace(loaded.docs());
            List<ServerFrame.Event> buffered;
            lock.lock();
            try {
                buffered = buffer == null ? List.of() : buffer;
                buffer = null;
                reloading = null;
            } finally {
                lock.unlock();
            }
            buffered.forEach(this::event);
            done.complete(null);
        });
    }

    private void replace(List<Doc> loaded) {
        Map<String, Doc> copy;
        lock.lock();
        try {
            byId.clear();
            held.clear();
            for (Doc d : loaded) {
                byId.put(d.docId(), d);
                held.put(d.docId(), d.version());
                docs.saw(d);
            }
            copy = Map.copyOf(byId);
        } finally {
            lock.unlock();
        }
        emit(l -> l.reset(copy));
    }

    private void event(ServerFrame.Event e) {
        if (closed) {
            return;
        }
        Kind kind = null;
        Doc doc;
        lock.lock();
        try {
            if (buffer != null) {
                buffer.add(e);
                return;
            }
            if (!"doc.changed".equals(e.type()) && !"doc.deleted".equals(e.type())) {
                return;
            }
            Optional<Doc> parsed = Doc.from(e.data()).filter(d -> d.docType().equals(docType));
            if (parsed.isEmpty() || parsed.get().version() <= held.getOrDefault(parsed.get().docId(), 0L)) {
                return; // already in what we hold
            }
            doc = parsed.get();
            held.put(doc.docId(), doc.version());
            boolean member = !doc.deleted() && same(value, doc.data().get(field));
            boolean had = byId.containsKey(doc.docId());
            if (member) {
                byId.put(doc.docId(), doc);
                kind = had ? Kind.CHANGED : Kind.ADDED;
            } else if (had) {
                byId.remove(doc.docId());
                kind = Kind.REMOVED;
            }
        } finally {
            lock.unlock();
        }
        if (kind != null) {
            Kind k = kind;
            emit(l -> l.change(k, doc));
        }
    }

    /** JSON equality where 7 and 7.0 are the same number, as the server's filter sees them. */
    static boolean same(JsonNode want, JsonNode got) {
        if (got == null) {
            return false;
        }
        if (want.isNumber() && got.isNumber()) {
            return want.decimalValue().compareTo(got.decimalValue()) == 0;
        }
        return want.equals(got);
    }

    private void fail(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        TandemClientException t = cause instanceof TandemClientException x ? x
                : new TandemClientException(ErrorCode.INTERNAL, String.valueOf(cause));
        emit(l -> l.error(t));
    }

    private void emit(Consumer<Listener> call) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException ex) {
                LOG.log(Level.WARNING, "a live query listener failed", ex);
            }
        }
    }
}
