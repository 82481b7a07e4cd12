package dev.tandem.client;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The offline queue in a file: an append-only journal of JSON lines, each written with one
 * write and forced to disk ({@code fsync}) before the call returns, so a stored operation
 * survives a crash or power loss.
 *
 * <p>Records: {@code {"k":"client","clientId","nextSeq"}} (first line), {@code {"k":"op",…}}
 * (an operation, added or replaced by seq), {@code {"k":"del","seq"}},
 * {@code {"k":"conflict","conflictId","record"}}, {@code {"k":"resolved","conflictId"}}. When
 * the journal holds far more lines than live records (or would pass its size limit) it is
 * compacted: the live state is written to a temporary file, forced, and moved over the journal
 * atomically (the directory is forced too), so a crash leaves either the old or the new journal.
 *
 * <p>On open, a torn last line (a crash in the middle of a write) is dropped: its write never
 * returned. Any other unreadable line fails the open ({@link QueueStorageException.Kind#CORRUPT}),
 * as does a journal another client holds ({@link QueueStorageException.Kind#IN_USE}: a lock file
 * next to it). A failed write is cut off again, so what was stored before stays readable.
 */
final class FileJournal extends AbstractQueueStore {
    private static final System.Logger LOG = System.getLogger(FileJournal.class.getName());
    private static final int MIN_LINES_BEFORE_COMPACTION = 64;

    private final Path file;
    private final long maxBytes;
    private final ObjectMapper mapper = new ObjectMapper();
    private final FileChannel lockChannel;
    private final FileLock lock;
    private FileChannel channel;
    private long lines;
    private long size;
    private boolean broken;
    private boolean closed;

    private FileJournal(Path file, long maxBytes, FileChannel lockChannel, FileLock lock) {
        this.file = file;
        this.maxBytes = maxBytes;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Opens (or creates) the journal at {@code file}.
     *
     * @param maxBytes the largest the journal may grow (0: as large as the disk allows)
     * @throws QueueStorageException if it cannot be opened, is in use, or is corrupt
     */
    static FileJournal open(Path file, long maxBytes) {
        Path abs = file.toAbsolutePath();
        FileChannel lockChannel = null;
        try {
            Files.createDirectories(abs.getParent());
            lockChannel = FileChannel.open(abs.resolveSibling(abs.getFileName() + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new QueueStorageException(QueueStorageException.Kind.IN_USE,
                        "the queue journal " + abs + " is in use by another client", null);
            }
            FileJournal j = new FileJournal(abs, maxBytes, lockChannel, lock);
            j.read();
            return j;
        } catch (IOException e) {
            closeQuietly(lockChannel);
            throw failure("opening the queue journal " + abs, e);
        } catch (RuntimeException e) {
            closeQuietly(lockChannel);
            throw e;
        }
    }

    private void read() throws IOException {
        boolean fresh = !Files.exists(file);
        if (!fresh) {
            byte[] bytes = Files.readAllBytes(file);
            int start = 0;
            long good = 0;
            long lineNo = 0;
            while (start < bytes.length) {
                int end = start;
                while (end < bytes.length && bytes[end] != '\n') {
                    end++;
                }
                lineNo++;
                boolean complete = end < bytes.length;
                String text = new String(bytes, start, end - start, StandardCharsets.UTF_8);
                boolean last = !complete || end + 1 >= bytes.length;
                try {
                    if (!complete) {
                        throw new IllegalArgumentException("no end of line");
                    }
                    apply(mapper.readTree(text));
                    good = end + 1;
                    lines++;
                } catch (IOException | RuntimeException e) {
                    if (!last) {
                        throw new QueueStorageException(QueueStorageException.Kind.CORRUPT, "the queue journal "
                                + file + " has an unreadable record at line " + lineNo + ": " + e.getMessage(), e);
                    }
                    LOG.log(Level.WARNING, "{0}: dropping a torn last record (a write interrupted by a crash)", file);
                }
                start = end + 1;
            }
            if (good < bytes.length) {
                try (FileChannel c = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    c.truncate(good);
                    c.force(true);
                }
            }
            size = good;
        }
        if (clientId == null) {
            clientId = MemoryQueueStore.newClientId();
            compact(); // writes the header
            return;
        }
        channel = FileChannel.open(file, StandardOpenOption.WRITE);
        channel.position(size);
    }

    private void apply(JsonNode r) {
        switch (r.path("k").asText("")) {
            case "client" -> {
                if (!r.path("clientId").isTextual() || r.path("clientId").textValue().isEmpty()) {
                    throw new IllegalArgumentException("a client record without a client id");
                }
                clientId = r.get("clientId").textValue();
                nextSeq = Math.max(nextSeq, r.path("nextSeq").asLong(1));
            }
            case "op" -> {
                OpEntry e = OpEntry.fromJson(r); // validates
                ObjectNode o = ((ObjectNode) r).deepCopy();
                o.remove("k");
                ops.put(e.seq, o);
                nextSeq = Math.max(nextSeq, e.seq + 1);
            }
            case "del" -> ops.remove(r.path("seq").asLong());
            case "conflict" -> {
                if (!r.path("conflictId").isTextual() || !r.path("record").isObject()) {
                    throw new IllegalArgumentException("a conflict record without its id or record");
                }
                conflicts.put(r.get("conflictId").textValue(), (ObjectNode) r.get("record"));
            }
            case "resolved" -> conflicts.remove(r.path("conflictId").asText());
            default -> throw new IllegalArgumentException("unknown record kind '" + r.path("k").asText("") + "'");
        }
    }

    @Override
    void persistOp(ObjectNode op, Optional<ObjectNode> replaced) {
        write(record("op").setAll(op));
    }

    @Override
    void persistRemoval(long seq) {
        write(record("del").put("seq", seq));
    }

    @Override
    void persistConflict(String conflictId, ObjectNode record) {
        ObjectNode r = record("conflict").put("conflictId", conflictId);
        r.set("record", record.deepCopy());
        write(r);
    }

    @Override
    void persistResolution(String conflictId) {
        write(record("resolved").put("conflictId", conflictId));
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(channel);
        try {
            lock.release();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "releasing the journal lock", e);
        }
        closeQuietly(lockChannel);
    }

    /** The journal's size in bytes now. */
    long size() {
        return size;
    }

    /** Lines in the journal now (records, live or superseded). */
    long lines() {
        return lines;
    }

    private ObjectNode record(String kind) {
        return mapper.createObjectNode().put("k", kind);
    }

    /** Appends one record as one line and forces it to disk; a failed write is cut off again. */
    private void write(ObjectNode record) {
        if (closed) {
            throw new QueueStorageException(QueueStorageException.Kind.IO, "the queue journal is closed", null);
        }
        if (broken) {
            throw new QueueStorageException(QueueStorageException.Kind.IO,
                    "the queue journal " + file + " failed earlier and could not be repaired", null);
        }
        byte[] bytes = (record.toString() + "\n").getBytes(StandardCharsets.UTF_8);
        if (maxBytes > 0 && size + bytes.length > maxBytes) {
            try {
                compact();
            } catch (IOException e) {
                throw failure("compacting the queue journal " + file, e);
            }
            if (size + bytes.length > maxBytes) {
                throw new QueueStorageException(QueueStorageException.Kind.FULL, "the queue journal " + file
                        + " is full (" + maxBytes + " bytes configured)", null);
            }
        }
        long before = size;
        try {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            channel.force(false);
            size = before + bytes.length;
            lines++;
        } catch (IOException e) {
            try {
                channel.truncate(before);
                channel.position(before);
                channel.force(false);
            } catch (IOException again) {
                broken = true;
                e.addSuppressed(again);
            }
            throw failure("writing the queue journal " + file, e);
        }
    }

    /** Compacts once superseded lines clearly outnumber live records. */
    @Override
    void stored() {
        long live = 1L + ops.size() + conflicts.size();
        if (lines > MIN_LINES_BEFORE_COMPACTION && lines > 4 * live) {
            try {
                compact();
            } catch (IOException e) {
                // the record is stored (the journal is only larger than it needs to be): not a
                // failure of this write; the next write tries again
                LOG.log(Level.WARNING, "compacting the queue journal " + file + " failed; it keeps growing", e);
            }
        }
    }

    /** Writes the live state to a new file and moves it over the journal atomically. */
    private void compact() throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        StringBuilder text = new StringBuilder();
        text.append(record("client").put("clientId", clientId).put("nextSeq", nextSeq).toString()).append('\n');
        long count = 1;
        for (ObjectNode o : ops.values()) {
            text.append(record("op").setAll(o).toString()).append('\n');
            count++;
        }
        for (Map.Entry<String, ObjectNode> c : conflicts.entrySet()) {
            ObjectNode r = record("conflict").put("conflictId", c.getKey());
            r.set("record", c.getValue());
            text.append(r.toString()).append('\n');
            count++;
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                c.write(buf);
            }
            c.force(true);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot force the journal's directory on this platform", e);
        }
        closeQuietly(channel);
        channel = FileChannel.open(file, StandardOpenOption.WRITE);
        channel.position(bytes.length);
        size = bytes.length;
        lines = count;
        broken = false;
    }

    private static QueueStorageException failure(String what, IOException e) {
        String m = String.valueOf(e.getMessage());
        boolean full = m.contains("No space left") || m.contains("Disk quota exceeded") || m.contains("not enough space");
        return new QueueStorageException(full ? QueueStorageException.Kind.FULL : QueueStorageException.Kind.IO,
                what + " failed: " + e, e);
    }

    private static void closeQuietly(FileChannel c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "closing a journal file", e);
            }
        }
    }
}
