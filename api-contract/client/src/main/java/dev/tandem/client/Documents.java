package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongFunction;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

/**
 * Documents for one {@link TandemClient}: {@code get}, {@code query}, live documents and
 * queries, and the <b>offline operation queue</b>.
 *
 * <p>Every {@link #update} is an operation with an opId {@code {clientId}:{seq}} (client id and
 * sequence kept in the queue's journal, so they are never reused, also across restarts),
 * stored (forced to disk) before the returned future completes, and sent in order as
 * {@code sync} batches (at most 100 operations, within the server's frame limit) whenever the
 * client is connected; one batch is in flight at a time. Transient failures (connection loss,
 * {@code unavailable}, {@code rate_limited}, timeouts) put the batch back and retry it with
 * backoff; the server remembers opIds, so a batch sent twice changes nothing the second time
 * ({@code duplicate}). A batch refused as a whole is retried one operation at a time, so one bad
 * operation fails alone. A server error never drops an operation: it ends {@code applied},
 * {@code merged} or {@code duplicate} (and leaves the queue), {@code conflict} (until resolved
 * or dismissed), {@code rejected} or {@code failed} (until dismissed). An edit queued after an
 * unsettled edit of the same document follows it ({@link EditChain}): applied on top of it, and
 * held back ({@link QueuedOp#heldBy()}) while that one waits in a conflict. A storage failure is
 * reported ({@link Listener#storageError}), never swallowed; the operation is then kept in
 * memory ({@link QueuedOp#durable()} false) and what was stored before stays stored.
 *
 * <p>Threading: the queue runs on one thread of its own; listeners are called there, one at a
 * time, in order, and must not block. Every method is thread-safe.
 */
public final class Documents {
    private static final System.Logger LOG = System.getLogger(Documents.class.getName());
    private static final Backoff RETRY = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), 2, 1);

    /** What the application hears from the documents and the queue; every method has a no-op default. */
    public interface Listener {
        /** An operation changed status, or left the queue ({@link QueuedOp#done()}). */
        default void op(QueuedOp op) {
        }

        /** A manual conflict arrived (from a reply or the inbox), once per conflict. */
        default void conflict(ConflictRecord conflict) {
        }

        /** A conflict was resolved (by this client: with the new document) or found resolved or stale (empty). */
        default void resolved(String conflictId, Optional<Doc> document) {
        }

        /** The queue's storage failed; the operation concerned is kept in memory only. */
        default void storageError(QueueStorageException error) {
        }

        /** Someone else overwrote your last-write-wins value ({@code doc.overwritten} on your inbox). */
        default void overwritten(JsonNode data) {
        }
    }

    /** How the queue reaches the server (the client, or a test double). */
    interface Link {
        /** The welcome of the current connection while requests can be sent. */
        Optional<ServerFrame.Welcome> ready();

        /** The last welcome received, also while disconnected: whose queue this is. */
        Optional<ServerFrame.Welcome> last();

        /** Sends a request; the future fails with a {@link TandemClientException}. */
        CompletableFuture<ServerFrame.Reply> request(LongFunction<ClientFrame> frame, Duration timeout);
    }

    private final Link link;
    private final DocumentReads reads;
    /** The client live views subscribe through; set once by the client that owns these documents. */
    private volatile TandemClient client;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final List<CompletableFuture<Void>> connectWaiters = new CopyOnWriteArrayList<>();
    private final OpQueue queue;

    Documents(Link link, QueueStore store, Backoff retryBackoff, Clock clock) {
        this.link = Objects.requireNonNull(link, "link");
        this.reads = new DocumentReads(link);
        this.queue = new OpQueue(this, link, store, retryBackoff, clock);
    }

    Documents(Link link, QueueStore store) {
        this(link, store, RETRY, Clock.systemUTC());
    }

    /** This client's id, the first part of every opId (kept in the journal). */
    public String clientId() {
        return queue.clientId;
    }

    /**
     * Adds a listener.
     *
     * @return removes it again
     */
    public Runnable addListener(Listener listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    // ------------------------------------------------------------------ reading

    /** Reads a document; empty when it does not exist. Needs a connection. */
    public CompletableFuture<Optional<Doc>> get(String docType, String docId) {
        return reads.get(docType, docId);
    }

    /**
     * Reads one page of the documents of a type whose field {@code field} equals {@code value}
     * (a string, number or boolean), with the position of the channel they publish to. Needs a
     * connection.
     *
     * @param limit the page size (1-500)
     * @param after the {@code next} cursor of the previous page
     */
    public CompletableFuture<QueryPage> query(String docType, String field, JsonNode value, int limit,
                                              Optional<String> after) {
        return reads.query(docType, field, value, limit, after);
    }

    /**
     * A document kept current: loaded with its channel's position (a {@code snapshot}
     * subscription), then followed. One live view per document and client.
     */
    public LiveDocument watch(String docType, String docId) {
        return new LiveDocument(owner(), this, docType, docId);
    }

    /**
     * The documents of a type whose field {@code field} equals {@code value}, kept current
     * ("load, then follow"), loaded 100 per page.
     */
    public LiveQuery liveQuery(String docType, String field, JsonNode value) {
        return liveQuery(docType, field, value, 100);
    }

    /** {@link #liveQuery(String, String, JsonNode)} with its page size (1-500). */
    public LiveQuery liveQuery(String docType, String field, JsonNode value, int pageSize) {
        return new LiveQuery(owner(), this, docType, field, value, pageSize);
    }

    void attach(TandemClient owner) {
        this.client = owner;
    }

    private TandemClient owner() {
        TandemClient c = client;
        if (c == null) {
            throw new IllegalStateException("live views need documents of a TandemClient");
        }
        return c;
    }

    /** The newest version of a document this client has seen (replies, snapshots, events), if any. */
    public OptionalLong version(String docType, String docId) {
        return reads.version(docType, docId);
    }

    void saw(Doc doc) {
        reads.saw(doc.docType(), doc.docId(), doc.version());
    }

    void saw(String docType, String docId, long version) {
        reads.saw(docType, docId, version);
    }

    // ------------------------------------------------------------------ writing

    /**
     * Queues a change made on the newest version this client has seen of the document (0,
     * "create", when none). See {@link #update(String, String, DocChange, long)}.
     */
    public CompletableFuture<QueuedOp> update(String docType, String docId, DocChange change) {
        return queue.enqueue(docType, docId, change, OptionalLong.empty());
    }

    /**
     * Queues a change made on {@code baseVersion}. The future completes once the operation is
     * stored (status {@code queued}; it is sent at once when connected), with the operation; it
     * fails only when the client is closed. A storage failure is reported to
     * {@link Listener#storageError} and the operation kept in memory ({@code durable} false).
     *
     * @throws IllegalArgumentException if docType or docId is empty or baseVersion negative
     */
    public CompletableFuture<QueuedOp> update(String docType, String docId, DocChange change, long baseVersion) {
        if (baseVersion < 0) {
            throw new IllegalArgumentException("baseVersion must not be negative");
        }
        return queue.enqueue(docType, docId, change, OptionalLong.of(baseVersion));
    }

    /**
     * Completes once the operation is no longer queued or sending, with its state then (also for
     * one of the last 1,000 operations that already left the queue); fails with
     * {@code not_found} for an operation this client does not know.
     */
    public CompletableFuture<QueuedOp> settled(String opId) {
        return queue.settled(opId);
    }

    /** The operations in the queue (pending, or waiting for attention), in order. */
    public List<QueuedOp> ops() {
        return queue.ops();
    }

    /** Open conflicts known to this client. */
    public List<ConflictRecord> conflicts() {
        return queue.conflicts();
    }

    /**
     * Removes a {@code rejected}, {@code failed} or {@code conflict} operation, or one held by a
     * conflict ({@link QueuedOp#heldBy()}), from the queue (the application has shown it, or gave
     * it up). The edits that followed it follow its predecessor instead. Nothing happens for an
     * unknown opId.
     *
     * @return fails with {@code bad_request} while the operation is on its way (queued and not
     *         held, or sending)
     */
    public CompletableFuture<Void> dismiss(String opId) {
        return queue.dismiss(opId);
    }

    /** Queues a {@code failed} operation again (e.g. after the cause was fixed). */
    public CompletableFuture<Void> retry(String opId) {
        return queue.retry(opId);
    }

    /**
     * Resolves a manual conflict: {@code accept_local} (your change), {@code accept_server} (your
     * change with the conflicted fields from the server) or {@code merge} with the merged
     * {@code data}. Needs a connection. Completes with the new version of the document. A
     * conflict that was already resolved or went stale is forgotten and the error
     * ({@code conflict} or {@code not_found}) passed on.
     *
     * @throws IllegalArgumentException if a merge comes without an object of data
     */
    public CompletableFuture<Doc> resolve(String conflictId, Resolution resolution, Optional<JsonNode> data) {
        Objects.requireNonNull(resolution, "resolution");
        if (resolution == Resolution.MERGE && (data.isEmpty() || !data.get().isObject())) {
            throw new IllegalArgumentException("a merge resolution needs the merged data (an object)");
        }
        Optional<JsonNode> sent = resolution == Resolution.MERGE ? data : Optional.empty();
        CompletableFuture<Doc> result = new CompletableFuture<>();
        link.request(id -> new ClientFrame.ConflictResolve(id, conflictId, resolution.wire(), sent), Duration.ZERO)
                .whenCompleteAsync((reply, e) -> {
                    if (e != null) {
                        Throwable cause = unwrap(e);
                        if (cause instanceof TandemClientException t && t.code().isPresent()
                                && (t.code().get() == ErrorCode.CONFLICT || t.code().get() == ErrorCode.NOT_FOUND)) {
                            queue.resolved(conflictId, null, Optional.empty());
                        }
                        result.completeExceptionally(cause);
                        return;
                    }
                    Optional<Doc> doc = Doc.from(reply.body().get("document"));
                    if (doc.isEmpty()) {
                        result.completeExceptionally(new TandemClientException(ErrorCode.BAD_REQUEST,
                                "conflict.resolve reply without a document"));
                        return;
                    }
                    saw(doc.get());
                    queue.resolved(conflictId, resolution, doc);
                    result.complete(doc.get());
                }, queue.thread);
        return result;
    }

    /** Sends what is queued now, if connected (it happens by itself on connect and after each edit). */
    public void flush() {
        queue.flush();
    }

    // ------------------------------------------------------------------ client hooks

    /** The client is connected (welcome received): send what waits. */
    void connected() {
        for (CompletableFuture<Void> f : connectWaiters) {
            connectWaiters.remove(f);
            f.complete(null);
        }
        queue.connected();
    }

    /** Completes when the client is (or next becomes) connected. */
    CompletableFuture<Void> whenConnected() {
        if (link.ready().isPresent()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        connectWaiters.add(f);
        if (link.ready().isPresent()) { // connected meanwhile
            connectWaiters.remove(f);
            f.complete(null);
        }
        return f;
    }

    /** A conflict frame from the inbox; the future completes once it is handled (then it may be acknowledged). */
    CompletableFuture<Void> conflictFrame(ServerFrame.Conflict frame) {
        return queue.conflictFrame(frame);
    }

    /** Stops the queue and closes its storage (the client closed); waits briefly for the queue thread. */
    void close() {
        queue.close();
    }

    /** An event the client delivered: versions seen, overwrite notices on the own inbox. */
    void event(ServerFrame.Event e, boolean ownInbox) {
        if ("doc.changed".equals(e.type()) || "doc.deleted".equals(e.type())) {
            JsonNode d = e.data();
            if (d.path("docType").isTextual() && d.path("docId").isTextual() && d.path("version").canConvertToLong()) {
                saw(d.get("docType").textValue(), d.get("docId").textValue(), d.get("version").asLong());
            }
        } else if ("doc.overwritten".equals(e.type()) && ownInbox && e.position().isPresent()) {
            JsonNode data = e.data().deepCopy();
            queue.thread.execute(() -> emit(l -> l.overwritten(data)));
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Calls every listener (on the queue thread). */
    void emit(Consumer<Listener> call) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a documents listener failed", e);
            }
        }
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof java.util.concurrent.CompletionException
                || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    static RuntimeException propagate(Throwable e) {
        return e instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(e);
    }
}
