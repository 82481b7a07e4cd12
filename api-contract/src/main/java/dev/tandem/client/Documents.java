package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
    private static final int MAX_BATCH = 100;
    private static final int MAX_INTERNAL_ATTEMPTS = 5;
    private static final int MAX_FINISHED = 1_000;
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
    private final QueueStore store;
    private final Backoff retryBackoff;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor thread;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    // confined to the queue thread
    private final Map<Long, OpEntry> entries = new java.util.TreeMap<>();
    private final EditChain chain = new EditChain();
    private final Map<String, List<CompletableFuture<QueuedOp>>> waiters = new java.util.HashMap<>();
    /** The last state of operations that left the queue lately, for {@link #settled}. */
    private final Map<String, QueuedOp> finished = new java.util.LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, QueuedOp> eldest) {
            return size() > MAX_FINISHED;
        }
    };
    private final String clientId;
    private String volatileId;
    private long volatileSeq;
    private boolean sending;
    private long isolateThrough;
    private ScheduledFuture<?> retryTimer;
    private int retries;
    private boolean closed;

    private final List<CompletableFuture<Void>> connectWaiters = new CopyOnWriteArrayList<>();

    // readable from any thread
    private final ConcurrentSkipListMap<Long, QueuedOp> views = new ConcurrentSkipListMap<>();
    private final Map<String, ConflictRecord> conflictMap = new ConcurrentHashMap<>();

    Documents(Link link, QueueStore store, Backoff retryBackoff, Clock clock) {
        this.link = Objects.requireNonNull(link, "link");
        this.reads = new DocumentReads(link);
        this.store = Objects.requireNonNull(store, "store");
        this.retryBackoff = Objects.requireNonNull(retryBackoff, "retryBackoff");
        this.clock = Objects.requireNonNull(clock, "clock");
        thread = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "tandem-queue");
            t.setDaemon(true);
            return t;
        });
        thread.setRemoveOnCancelPolicy(true);
        QueueStore.Loaded loaded = store.load();
        clientId = loaded.clientId();
        for (OpEntry e : loaded.ops()) {
            entries.put(e.seq, e);
            views.put(e.seq, e.view(false));
        }
        for (ObjectNode c : loaded.conflicts()) {
            ConflictRecord.from(c).ifPresent(r -> conflictMap.put(r.conflictId(), r));
        }
    }

    Documents(Link link, QueueStore store) {
        this(link, store, RETRY, Clock.systemUTC());
    }

    /** This client's id, the first part of every opId (kept in the journal). */
    public String clientId() {
        return clientId;
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
        return enqueue(docType, docId, change, OptionalLong.empty());
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
        return enqueue(docType, docId, change, OptionalLong.of(baseVersion));
    }

    private CompletableFuture<QueuedOp> enqueue(String docType, String docId, DocChange change, OptionalLong base) {
        if (docType == null || docType.isEmpty() || docId == null || docId.isEmpty()) {
            throw new IllegalArgumentException("docType and docId must be non-empty");
        }
        Objects.requireNonNull(change, "change");
        return onQueue(() -> {
            if (closed) {
                throw new TandemClientException(ErrorCode.UNAVAILABLE, "the client is closed");
            }
            long baseVersion = base.orElseGet(() -> reads.version(docType, docId).orElse(0L));
            Instant now = clock.instant();
            Optional<String> owner = link.last().map(w -> w.tenant() + "/" + w.user());
            Optional<String> after = chain.predecessor(entries.values(), docType, docId);
            OpEntry e;
            try {
                e = store.append(docType, docId, baseVersion, change, after, owner, now);
            } catch (QueueStorageException ex) {
                storageFailed(ex);
                // kept in memory under a client id of its own: the journal's sequence did not
                // advance, and reusing a number later would make the server take another
                // operation for a duplicate
                if (volatileId == null) {
                    volatileId = clientId + "." + MemoryQueueStore.volatileSuffix();
                }
                long seq = ++volatileSeq;
                e = new OpEntry(volatileId + ":" + seq, Long.MAX_VALUE / 2 + seq, docType, docId, baseVersion, change,
                        now);
                e.owner = owner.orElse(null);
                e.afterOpId = after.orElse(null);
                e.durable = false;
            }
            entries.put(e.seq, e);
            QueuedOp view = publish(e, false);
            pump();
            return view;
        });
    }

    /**
     * Completes once the operation is no longer queued or sending, with its state then (also for
     * one of the last 1,000 operations that already left the queue); fails with
     * {@code not_found} for an operation this client does not know.
     */
    public CompletableFuture<QueuedOp> settled(String opId) {
        return onQueue(() -> {
            OpEntry e = find(opId).orElse(null);
            if (e == null && finished.containsKey(opId)) {
                return CompletableFuture.completedFuture(finished.get(opId));
            }
            if (e == null) {
                throw new TandemClientException(ErrorCode.NOT_FOUND, "no operation " + opId + " in the queue");
            }
            if (!e.status.isPending()) {
                return CompletableFuture.completedFuture(e.view(false));
            }
            CompletableFuture<QueuedOp> f = new CompletableFuture<>();
            waiters.computeIfAbsent(opId, k -> new ArrayList<>()).add(f);
            return f;
        }).thenCompose(f -> f);
    }

    /** The operations in the queue (pending, or waiting for attention), in order. */
    public List<QueuedOp> ops() {
        return List.copyOf(views.values());
    }

    /** Open conflicts known to this client. */
    public List<ConflictRecord> conflicts() {
        return conflictMap.values().stream().sorted(Comparator.comparing(ConflictRecord::conflictId)).toList();
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
        return onQueue(() -> {
            Optional<OpEntry> e = find(opId);
            if (e.isPresent()) {
                if (e.get().status.isPending() && e.get().heldBy == null) {
                    throw new TandemClientException(ErrorCode.BAD_REQUEST,
                            "operation " + opId + " is still " + e.get().status.wire());
                }
                drop(e.get());
                restate(chain.unlink(entries.values(), e.get()));
                pump();
            }
            return null;
        });
    }

    /** Queues a {@code failed} operation again (e.g. after the cause was fixed). */
    public CompletableFuture<Void> retry(String opId) {
        return onQueue(() -> {
            OpEntry e = find(opId).filter(x -> x.status == OpStatus.FAILED).orElseThrow(() ->
                    new TandemClientException(ErrorCode.BAD_REQUEST, "only failed operations can be retried"));
            e.attempts = 0;
            setStatus(e, OpStatus.QUEUED, null, null, true);
            pump();
            return null;
        });
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
                            conflictDone(conflictId, null, Optional.empty());
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
                    conflictDone(conflictId, resolution, doc);
                    result.complete(doc.get());
                }, thread);
        return result;
    }

    /** Sends what is queued now, if connected (it happens by itself on connect and after each edit). */
    public void flush() {
        thread.execute(() -> {
            clearRetry();
            pump();
        });
    }

    // ------------------------------------------------------------------ client hooks

    /** The client is connected (welcome received): send what waits. */
    void connected() {
        for (CompletableFuture<Void> f : connectWaiters) {
            connectWaiters.remove(f);
            f.complete(null);
        }
        thread.execute(() -> {
            // held edits are asked about again: their conflict may have been resolved elsewhere
            restate(chain.release(entries.values(), Optional.empty()));
            pump();
        });
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
        return onQueue(() -> {
            ObjectNode raw = frame.data().isObject() ? ((ObjectNode) frame.data()).deepCopy()
                    : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
            raw.put("conflictId", frame.conflictId());
            Optional<ConflictRecord> record = ConflictRecord.from(raw);
            if (record.isEmpty()) {
                return null;
            }
            if (!record.get().isOpen()) {
                conflictDone(record.get().conflictId(), null, Optional.empty());
                return null;
            }
            for (OpEntry e : List.copyOf(entries.values())) {
                if (e.opId.equals(record.get().opId()) && e.status != OpStatus.CONFLICT) {
                    e.conflictId = record.get().conflictId();
                    setStatus(e, OpStatus.CONFLICT, null, null, true);
                }
            }
            keepConflict(record.get());
            return null;
        });
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
            thread.execute(() -> emit(l -> l.overwritten(data)));
        }
    }

    /** Stops the queue and closes its storage (the client closed); waits briefly for the queue thread. */
    void close() {
        CompletableFuture<Void> done = onQueue(() -> {
            closed = true;
            clearRetry();
            store.close();
            return null;
        });
        try {
            done.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.log(Level.WARNING, "closing the queue storage failed", e);
        }
        thread.shutdown();
    }

    // ------------------------------------------------------------------ the queue (queue thread)

    /** Sends the next batch if connected and nothing is in flight. */
    private void pump() {
        if (sending || closed || retryTimer != null) {
            return;
        }
        Optional<ServerFrame.Welcome> welcome = link.ready();
        if (welcome.isEmpty()) {
            return;
        }
        String owner = welcome.get().tenant() + "/" + welcome.get().user();
        int maxFrame = welcome.get().limits().maxFrameBytes();
        long maxBytes = maxFrame > 0 ? maxFrame - 256L : 65_000;
        restate(chain.holdFollowers(entries.values()));
        List<OpEntry> batch = new ArrayList<>();
        long bytes = 40;
        for (OpEntry e : List.copyOf(entries.values())) {
            if (e.status != OpStatus.QUEUED || e.heldBy != null) {
                continue;
            }
            if (e.owner == null) {
                e.owner = owner;
            } else if (!e.owner.equals(owner)) {
                setStatus(e, OpStatus.FAILED, ErrorCode.FORBIDDEN.wire(), "queued by " + e.owner + ", not by " + owner,
                        true);
                continue;
            }
            long size = e.body().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1L;
            if (size + 40 > maxBytes) {
                setStatus(e, OpStatus.FAILED, ErrorCode.TOO_LARGE.wire(), "the operation is " + size
                        + " bytes; the server takes frames up to " + maxFrame, true);
                continue;
            }
            if (bytes + size > maxBytes || batch.size() >= MAX_BATCH) {
                break;
            }
            batch.add(e);
            bytes += size;
            if (e.seq <= isolateThrough) {
                break; // finding the operation that made a whole batch fail: one at a time
            }
        }
        if (batch.isEmpty()) {
            return;
        }
        sending = true;
        List<ClientFrame.DocUpdate> ops = new ArrayList<>(batch.size());
        for (OpEntry e : batch) {
            e.attempts++;
            setStatus(e, OpStatus.SENDING, e.code, e.reason, false);
            ObjectNode c = e.change.toJson();
            ops.add(new ClientFrame.DocUpdate(0, e.docType, e.docId, e.baseVersion, e.opId,
                    Optional.ofNullable(c.get("data")), Optional.ofNullable(c.get("patch")),
                    Optional.ofNullable(e.afterOpId)));
        }
        Duration timeout = Duration.ofMillis(30_000L + batch.size() * 200L);
        link.request(id -> new ClientFrame.Sync(id, ops), timeout).whenCompleteAsync((reply, err) -> {
            try {
                if (err == null) {
                    answered(batch, reply.body());
                } else {
                    Throwable cause = unwrap(err);
                    refused(batch, cause instanceof TandemClientException t ? t
                            : new TandemClientException(ErrorCode.UNAVAILABLE, String.valueOf(cause)));
                }
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "handling a sync result failed", e);
            } finally {
                sending = false;
                pump();
            }
        }, thread);
    }

    private void answered(List<OpEntry> batch, ObjectNode body) {
        retries = 0;
        Map<String, JsonNode> byOpId = new java.util.HashMap<>();
        body.path("results").forEach(r -> {
            if (r.path("opId").isTextual()) {
                byOpId.put(r.get("opId").textValue(), r);
            }
        });
        for (OpEntry e : batch) {
            JsonNode r = byOpId.get(e.opId);
            if (r == null) {
                setStatus(e, OpStatus.QUEUED, null, "no result for this operation in the reply", true);
            } else {
                result(e, r);
            }
        }
    }

    private void result(OpEntry e, JsonNode r) {
        if (r.path("version").canConvertToLong() && r.has("version")) {
            e.version = r.get("version").asLong();
            saw(e.docType, e.docId, e.version);
        }
        switch (r.path("result").asText("")) {
            case "applied" -> finish(e, OpStatus.APPLIED);
            case "duplicate" -> finish(e, OpStatus.DUPLICATE);
            case "merged" -> {
                List<String> fields = new ArrayList<>();
                r.path("fields").forEach(f -> fields.add(f.asText()));
                e.fields = List.copyOf(fields);
                e.strategy = r.path("strategy").isTextual() ? r.get("strategy").textValue() : null;
                finish(e, OpStatus.MERGED);
            }
            case "conflict" -> {
                ObjectNode raw = r.path("conflict").isObject() ? ((ObjectNode) r.get("conflict")).deepCopy()
                        : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
                if (r.path("conflictId").isTextual()) {
                    raw.put("conflictId", r.get("conflictId").textValue());
                }
                raw.put("opId", e.opId);
                Optional<ConflictRecord> record = ConflictRecord.from(raw);
                e.conflictId = record.map(ConflictRecord::conflictId).orElse(null);
                setStatus(e, OpStatus.CONFLICT, null, null, true);
                record.ifPresent(this::keepConflict);
            }
            case "held" -> {
                // its predecessor waits in a conflict: sent again once that one is resolved
                String conflict = r.path("conflictId").asText("");
                e.heldBy = chain.holds(conflict) ? conflict : null;
                setStatus(e, OpStatus.QUEUED, null, null, true);
            }
            case "rejected" -> setStatus(e, OpStatus.REJECTED, r.path("code").asText("rejected"),
                    r.path("reason").asText("rejected by the server"), true);
            default -> setStatus(e, OpStatus.FAILED, "protocol", "unknown result " + r.path("result"), true);
        }
    }

    private void refused(List<OpEntry> batch, TandemClientException err) {
        Optional<ErrorCode> code = err.code();
        boolean transientError = code.map(ErrorCode::isTransient).orElse(true);
        boolean internalTooOften = code.equals(Optional.of(ErrorCode.INTERNAL))
                && batch.stream().allMatch(e -> e.attempts >= MAX_INTERNAL_ATTEMPTS);
        String wire = code.map(ErrorCode::wire).orElse("closed");
        if (transientError && !internalTooOften) {
            for (OpEntry e : batch) {
                setStatus(e, OpStatus.QUEUED, null, wire + ": " + err.getMessage(), true);
            }
            if (link.ready().isPresent()) {
                // the server is busy or failing: wait before the next batch (a lost connection
                // is retried on the next welcome instead)
                Duration delay = retryBackoff.delay(++retries).orElse(Duration.ofSeconds(30));
                retryTimer = thread.schedule(() -> {
                    retryTimer = null;
                    pump();
                }, delay.toMillis(), TimeUnit.MILLISECONDS);
            }
            return;
        }
        if (batch.size() > 1) {
            // refused as a whole: find the operation that did it by sending one at a time
            isolateThrough = Math.max(isolateThrough, batch.get(batch.size() - 1).seq);
            for (OpEntry e : batch) {
                setStatus(e, OpStatus.QUEUED, null, "batch refused (" + wire + "): " + err.getMessage(), true);
            }
            return;
        }
        for (OpEntry e : batch) {
            setStatus(e, OpStatus.FAILED, wire, err.getMessage(), true);
        }
    }

    private void finish(OpEntry e, OpStatus status) {
        e.status = status;
        e.code = null;
        e.reason = null;
        e.updatedAt = clock.instant();
        drop(e);
    }

    /** Removes an entry from the queue and its storage; tells listeners it is done. */
    private void drop(OpEntry e) {
        entries.remove(e.seq);
        if (e.durable) {
            try {
                store.remove(e.seq);
            } catch (QueueStorageException ex) {
                storageFailed(ex);
            }
        }
        QueuedOp view = publish(e, true);
        finished.put(view.opId(), view);
        wake(view);
    }

    private void setStatus(OpEntry e, OpStatus status, String code, String reason, boolean persist) {
        e.status = status;
        e.code = code;
        e.reason = reason;
        e.updatedAt = clock.instant();
        if (persist && e.durable) {
            try {
                store.put(e);
            } catch (QueueStorageException ex) {
                storageFailed(ex);
            }
        }
        QueuedOp view = publish(e, false);
        if (!status.isPending()) {
            wake(view);
        }
    }

    private QueuedOp publish(OpEntry e, boolean done) {
        QueuedOp view = e.view(done);
        if (done) {
            views.remove(e.seq);
        } else {
            views.put(e.seq, view);
        }
        emit(l -> l.op(view));
        return view;
    }

    private void wake(QueuedOp view) {
        List<CompletableFuture<QueuedOp>> list = waiters.remove(view.opId());
        if (list != null) {
            list.forEach(f -> f.complete(view));
        }
    }

    private Optional<OpEntry> find(String opId) {
        return entries.values().stream().filter(e -> e.opId.equals(opId)).findFirst();
    }

    private void clearRetry() {
        if (retryTimer != null) {
            retryTimer.cancel(false);
            retryTimer = null;
        }
    }

    private void storageFailed(QueueStorageException e) {
        LOG.log(Level.WARNING, "offline queue storage: {0}", e.getMessage());
        emit(l -> l.storageError(e));
    }

    // ------------------------------------------------------------------ conflicts (queue thread)

    private void keepConflict(ConflictRecord record) {
        if (conflictMap.containsKey(record.conflictId())) {
            return;
        }
        conflictMap.put(record.conflictId(), record);
        try {
            store.putConflict(record.conflictId(), record.raw());
        } catch (QueueStorageException e) {
            storageFailed(e);
        }
        emit(l -> l.conflict(record));
    }

    private void conflictDone(String conflictId, Resolution resolution, Optional<Doc> doc) {
        boolean known = conflictMap.remove(conflictId) != null;
        try {
            store.removeConflict(conflictId);
        } catch (QueueStorageException e) {
            storageFailed(e);
        }
        for (OpEntry e : List.copyOf(entries.values())) {
            if (conflictId.equals(e.conflictId)) {
                e.resolution = resolution;
                doc.ifPresent(d -> e.version = d.version());
                drop(e);
            }
        }
        if (known || doc.isPresent()) {
            emit(l -> l.resolved(conflictId, doc));
        }
        restate(chain.ended(entries.values(), conflictId));
        pump();
    }

    /** Stores and announces entries whose chain state changed. */
    private void restate(List<OpEntry> changed) {
        for (OpEntry e : changed) {
            setStatus(e, e.status, e.code, e.reason, true);
        }
    }

    // ------------------------------------------------------------------ helpers

    private void emit(Consumer<Listener> call) {
        for (Listener l : listeners) {
            try {
                call.accept(l);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a documents listener failed", e);
            }
        }
    }

    /** Runs a task on the queue thread; the future completes with its result or exception. */
    private <T> CompletableFuture<T> onQueue(java.util.concurrent.Callable<T> task) {
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            thread.execute(() -> {
                try {
                    f.complete(task.call());
                } catch (Exception e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new TandemClientException(ErrorCode.UNAVAILABLE, "the client is closed"));
        }
        return f;
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
