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
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

/**
 * The offline operation queue of {@link Documents}, on a thread of its own: operations stored
 * before they are acknowledged, sent in order as {@code sync} batches whenever connected (one
 * in flight), results applied, transient failures retried with backoff, a batch refused as a
 * whole isolated one operation at a time, conflicts kept until resolved, edit chains held and
 * released ({@link EditChain}). Everything but the views is confined to the queue thread.
 */
final class OpQueue {
    private static final System.Logger LOG = System.getLogger(Documents.class.getName());
    private static final int MAX_BATCH = 100;
    private static final int MAX_INTERNAL_ATTEMPTS = 5;
    private static final int MAX_FINISHED = 1_000;

    private final Documents docs;
    private final Documents.Link link;
    private final QueueStore store;
    private final Backoff retryBackoff;
    private final Clock clock;
    final ScheduledThreadPoolExecutor thread;

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
    final String clientId;
    private String volatileId;
    private long volatileSeq;
    private boolean sending;
    private long isolateThrough;
    private ScheduledFuture<?> retryTimer;
    private int retries;
    private boolean closed;

    // readable from any thread
    final ConcurrentSkipListMap<Long, QueuedOp> views = new ConcurrentSkipListMap<>();
    final Map<String, ConflictRecord> conflictMap = new ConcurrentHashMap<>();

    OpQueue(Documents docs, Documents.Link link, QueueStore store, Backoff retryBackoff, Clock clock) {
        this.docs = docs;
        this.link = Objects.requireNonNull(link, "link");
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

    /** The queue's operations in order, open conflicts: readable from any thread. */
    List<QueuedOp> ops() {
        return List.copyOf(views.values());
    }

    List<ConflictRecord> conflicts() {
        return conflictMap.values().stream().sorted(Comparator.comparing(ConflictRecord::conflictId)).toList();
    }

    /** See {@link Documents#flush()}. */
    void flush() {
        thread.execute(() -> {
            clearRetry();
            pump();
        });
    }

    /** The client is connected: held edits are asked about again (their conflict may have been resolved elsewhere), what waits is sent. */
    void connected() {
        thread.execute(() -> {
            restate(chain.release(entries.values(), Optional.empty()));
            pump();
        });
    }

    /** A conflict was resolved or found gone (on the queue thread). */
    void resolved(String conflictId, Resolution resolution, Optional<Doc> doc) {
        conflictDone(conflictId, resolution, doc);
    }

    CompletableFuture<QueuedOp> enqueue(String docType, String docId, DocChange change, OptionalLong base) {
        if (docType == null || docType.isEmpty() || docId == null || docId.isEmpty()) {
            throw new IllegalArgumentException("docType and docId must be non-empty");
        }
        Objects.requireNonNull(change, "change");
        return onQueue(() -> {
            if (closed) {
                throw new TandemClientException(ErrorCode.UNAVAILABLE, "the client is closed");
            }
            long baseVersion = base.orElseGet(() -> docs.version(docType, docId).orElse(0L));
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
    CompletableFuture<QueuedOp> settled(String opId) {
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

    /**
     * Removes a {@code rejected}, {@code failed} or {@code conflict} operation, or one held by a
     * conflict ({@link QueuedOp#heldBy()}), from the queue (the application has shown it, or gave
     * it up). The edits that followed it follow its predecessor instead. Nothing happens for an
     * unknown opId.
     *
     * @return fails with {@code bad_request} while the operation is on its way (queued and not
     *         held, or sending)
     */
    CompletableFuture<Void> dismiss(String opId) {
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
    CompletableFuture<Void> retry(String opId) {
        return onQueue(() -> {
            OpEntry e = find(opId).filter(x -> x.status == OpStatus.FAILED).orElseThrow(() ->
                    new TandemClientException(ErrorCode.BAD_REQUEST, "only failed operations can be retried"));
            e.attempts = 0;
            setStatus(e, OpStatus.QUEUED, null, null, true);
            pump();
            return null;
        });
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
                // the answer is for what is still queued: an operation whose conflict was
                // resolved or went stale while the batch was in flight has left the queue, and
                // its status must not come back with the answer
                List<OpEntry> open = batch.stream().filter(e -> entries.get(e.seq) == e).toList();
                if (err == null) {
                    answered(open, reply.body());
                } else {
                    // a failure says nothing about an operation the inbox meanwhile reported in
                    // conflict: it keeps that status rather than going back to queued
                    Throwable cause = Documents.unwrap(err);
                    refused(open.stream().filter(e -> e.status == OpStatus.SENDING).toList(),
                            cause instanceof TandemClientException t ? t
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
            docs.saw(e.docType, e.docId, e.version);
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
        docs.emit(l -> l.op(view));
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
        docs.emit(l -> l.storageError(e));
    }

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
        docs.emit(l -> l.conflict(record));
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
            docs.emit(l -> l.resolved(conflictId, doc));
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
}
