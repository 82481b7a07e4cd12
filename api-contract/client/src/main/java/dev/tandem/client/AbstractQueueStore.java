package dev.tandem.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The record bookkeeping both queue stores share: the client id, the next sequence number, the
 * operations by seq and the open conflicts, and the order of every change — persist first
 * (which may throw and then changes nothing), then update the records, then {@link #stored()}.
 * Subclasses say only how a change is persisted ({@link FileJournal}: a journal line;
 * {@link MemoryQueueStore}: a size check).
 */
abstract class AbstractQueueStore implements QueueStore {
    /** The operations as stored, by seq. */
    final TreeMap<Long, ObjectNode> ops = new TreeMap<>();
    /** The open conflict records, by conflict id, in the order they came. */
    final Map<String, ObjectNode> conflicts = new LinkedHashMap<>();
    String clientId;
    long nextSeq = 1;

    /** Persists an operation, new ({@code replaced} empty) or replacing one with the same seq. */
    abstract void persistOp(ObjectNode op, Optional<ObjectNode> replaced);

    /** Persists the removal of a held operation. */
    abstract void persistRemoval(long seq);

    /** Persists an open conflict record. */
    abstract void persistConflict(String conflictId, ObjectNode record);

    /** Persists the removal of a held conflict. */
    abstract void persistResolution(String conflictId);

    /** Runs after each change is persisted and recorded (e.g. compaction). */
    void stored() {
    }

    @Override
    public final Loaded load() {
        List<OpEntry> list = new ArrayList<>();
        ops.values().forEach(o -> list.add(OpEntry.fromJson(o)));
        List<ObjectNode> cs = new ArrayList<>();
        conflicts.values().forEach(c -> cs.add(c.deepCopy()));
        return new Loaded(clientId, list, cs);
    }

    @Override
    public final OpEntry append(String docType, String docId, long baseVersion, DocChange change,
                                Optional<String> afterOpId, Optional<String> owner, Instant now) {
        OpEntry e = new OpEntry(clientId + ":" + nextSeq, nextSeq, docType, docId, baseVersion, change, now);
        e.afterOpId = afterOpId.orElse(null);
        e.owner = owner.orElse(null);
        ObjectNode json = e.toJson();
        persistOp(json, Optional.empty());
        ops.put(e.seq, json);
        nextSeq++;
        stored();
        return e;
    }

    @Override
    public final void put(OpEntry op) {
        ObjectNode json = op.toJson();
        persistOp(json, Optional.ofNullable(ops.get(op.seq)));
        ops.put(op.seq, json);
        stored();
    }

    @Override
    public final void remove(long seq) {
        if (!ops.containsKey(seq)) {
            return;
        }
        persistRemoval(seq);
        ops.remove(seq);
        stored();
    }

    @Override
    public final void putConflict(String conflictId, ObjectNode record) {
        persistConflict(conflictId, record);
        conflicts.put(conflictId, record.deepCopy());
        stored();
    }

    @Override
    public final void removeConflict(String conflictId) {
        if (!conflicts.containsKey(conflictId)) {
            return;
        }
        persistResolution(conflictId);
        conflicts.remove(conflictId);
        stored();
    }
}
