package dev.tandem.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Keeps the queue in memory only (a client without a journal file): it does not survive the
 * process. {@code maxBytes} (0: no limit) bounds the JSON size of what it holds; beyond it writes
 * fail with {@link QueueStorageException.Kind#FULL}, as a full disk would.
 */
final class MemoryQueueStore implements QueueStore {
    private final String clientId;
    private final long maxBytes;
    private final TreeMap<Long, ObjectNode> ops = new TreeMap<>();
    private final Map<String, ObjectNode> conflicts = new LinkedHashMap<>();
    private long nextSeq = 1;

    MemoryQueueStore(long maxBytes) {
        this(newClientId(), maxBytes);
    }

    MemoryQueueStore(String clientId, long maxBytes) {
        this.clientId = clientId;
        this.maxBytes = maxBytes;
    }

    /** A random client id: 16 characters of {@code A-Z a-z 0-9}, valid in opIds. */
    static String newClientId() {
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        java.security.SecureRandom random = new java.security.SecureRandom();
        StringBuilder id = new StringBuilder(16);
        for (int i = 0; i < 16; i++) {
            id.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return id.toString();
    }

    @Override
    public Loaded load() {
        List<OpEntry> list = new ArrayList<>();
        ops.values().forEach(o -> list.add(OpEntry.fromJson(o)));
        List<ObjectNode> cs = new ArrayList<>();
        conflicts.values().forEach(c -> cs.add(c.deepCopy()));
        return new Loaded(clientId, list, cs);
    }

    @Override
    public OpEntry append(String docType, String docId, long baseVersion, DocChange change, Optional<String> owner,
                          Instant now) {
        OpEntry e = new OpEntry(clientId + ":" + nextSeq, nextSeq, docType, docId, baseVersion, change, now);
        e.owner = owner.orElse(null);
        ObjectNode json = e.toJson();
        fits(json.toString().length());
        ops.put(e.seq, json);
        nextSeq++;
        return e;
    }

    @Override
    public void put(OpEntry op) {
        ObjectNode json = op.toJson();
        ObjectNode old = ops.get(op.seq);
        fits(json.toString().length() - (old == null ? 0 : old.toString().length()));
        ops.put(op.seq, json);
    }

    @Override
    public void remove(long seq) {
        ops.remove(seq);
    }

    @Override
    public void putConflict(String conflictId, ObjectNode record) {
        fits(record.toString().length());
        conflicts.put(conflictId, record.deepCopy());
    }

    @Override
    public void removeConflict(String conflictId) {
        conflicts.remove(conflictId);
    }

    @Override
    public void close() {
        // nothing to release
    }

    private void fits(long extra) {
        if (maxBytes <= 0) {
            return;
        }
        long size = 0;
        for (ObjectNode o : ops.values()) {
            size += o.toString().length();
        }
        for (ObjectNode c : conflicts.values()) {
            size += c.toString().length();
        }
        if (size + extra > maxBytes) {
            throw new QueueStorageException(QueueStorageException.Kind.FULL,
                    "the queue storage is full (" + maxBytes + " bytes)", null);
        }
    }

    /** A fresh random suffix for operations kept in memory after a storage failure. */
    static String volatileSuffix() {
        return UUID.randomUUID().toString().substring(0, 8);
    }
}
