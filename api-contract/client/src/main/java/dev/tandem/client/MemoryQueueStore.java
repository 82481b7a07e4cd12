package dev.tandem.client;

import java.util.Optional;
import java.util.UUID;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Keeps the queue in memory only (a client without a journal file): it does not survive the
 * process. {@code maxBytes} (0: no limit) bounds the JSON size of what it holds; beyond it writes
 * fail with {@link QueueStorageException.Kind#FULL}, as a full disk would.
 */
final class MemoryQueueStore extends AbstractQueueStore {
    private final long maxBytes;

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
    void persistOp(ObjectNode op, Optional<ObjectNode> replaced) {
        fits(op.toString().length() - replaced.map(o -> o.toString().length()).orElse(0));
    }

    @Override
    void persistRemoval(long seq) {
        // nothing to write
    }

    @Override
    void persistConflict(String conflictId, ObjectNode record) {
        fits(record.toString().length());
    }

    @Override
    void persistResolution(String conflictId) {
        // nothing to write
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
