package dev.tandem.client;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Persistence of the offline operation queue: {@link FileJournal} (a file) or
 * {@link MemoryQueueStore}. Every method may throw {@link QueueStorageException}; a failed
 * write leaves what was stored before as it was. Used by one thread at a time.
 */
interface QueueStore extends AutoCloseable {

    /** What the store holds: the client id (created on first use), the operations by seq, open conflicts. */
    record Loaded(String clientId, List<OpEntry> ops, List<ObjectNode> conflicts) {
    }

    /** Reads the store. */
    Loaded load();

    /**
     * Gives a new operation the next sequence number (never reused, also after a restart) and
     * the opId {@code {clientId}:{seq}}, and stores it before returning it.
     *
     * @param afterOpId the operation it follows ({@link EditChain}), if any
     */
    OpEntry append(String docType, String docId, long baseVersion, DocChange change, Optional<String> afterOpId,
                   Optional<String> owner, Instant now);

    /** Replaces a stored operation (same seq). */
    void put(OpEntry op);

    /** Deletes an operation. */
    void remove(long seq);

    /** Stores an open conflict record. */
    void putConflict(String conflictId, ObjectNode record);

    /** Deletes a conflict. */
    void removeConflict(String conflictId);

    /** Releases the store. */
    @Override
    void close();
}
