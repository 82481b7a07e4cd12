package dev.tandem.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FileJournalTest {
    private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

    @TempDir
    Path dir;

    private static OpEntry add(FileJournal j, int n) {
        return j.append("stock", "A-" + n, n, DocChange.inc("qty", n), Optional.empty(), Optional.of("acme/alice"), NOW);
    }

    @Test
    void operationsSurviveAReopenWithTheirStatusClientIdAndSequence() {
        Path file = dir.resolve("q.journal");
        String clientId;
        try (FileJournal j = FileJournal.open(file, 0)) {
            OpEntry a = add(j, 1);
            OpEntry b = add(j, 2);
            add(j, 3);
            clientId = j.load().clientId();
            assertEquals(clientId + ":1", a.opId);
            b.status = OpStatus.REJECTED;
            b.code = "constraint";
            b.reason = "qty >= 0";
            j.put(b);
            j.remove(a.seq);
        }
        try (FileJournal j = FileJournal.open(file, 0)) {
            QueueStore.Loaded loaded = j.load();
            assertEquals(clientId, loaded.clientId());
            assertEquals(List.of(2L, 3L), loaded.ops().stream().map(e -> e.seq).toList());
            OpEntry b = loaded.ops().get(0);
            assertEquals(OpStatus.REJECTED, b.status);
            assertEquals("constraint", b.code);
            assertEquals("qty >= 0", b.reason);
            assertEquals(DocChange.inc("qty", 2), b.change);
            assertEquals(clientId + ":4", add(j, 4).opId, "sequence numbers continue after a restart");
        }
    }

    @Test
    void aSendingOperationIsQueuedAgainAfterARestart() {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            OpEntry a = add(j, 1);
            a.status = OpStatus.SENDING;
            j.put(a);
        }
        try (FileJournal j = FileJournal.open(file, 0)) {
            assertEquals(OpStatus.QUEUED, j.load().ops().get(0).status);
        }
    }

    @Test
    void sequenceNumbersAreNeverReusedAfterEveryOperationLeftAndTheJournalWasCompacted() {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            for (int i = 1; i <= 100; i++) {
                j.remove(add(j, i).seq);
            }
            assertTrue(j.lines() < 70, "compacted, " + j.lines() + " lines");
        }
        try (FileJournal j = FileJournal.open(file, 0)) {
            assertEquals(0, j.load().ops().size());
            assertEquals(101, add(j, 101).seq);
        }
    }

    @Test
    void compactionKeepsTheLiveStateAndShrinksTheFile() throws IOException {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            OpEntry keep = add(j, 1);
            j.putConflict("c1", JsonNodeFactory.instance.objectNode().put("conflictId", "c1").put("opId", keep.opId));
            for (int i = 2; i < 300; i++) {
                OpEntry e = add(j, i);
                e.attempts = 3;
                j.put(e);
                j.remove(e.seq);
            }
            assertTrue(Files.size(file) < 20_000, "compacted to " + Files.size(file) + " bytes");
        }
        try (FileJournal j = FileJournal.open(file, 0)) {
            QueueStore.Loaded loaded = j.load();
            assertEquals(List.of(1L), loaded.ops().stream().map(e -> e.seq).toList());
            assertEquals("c1", loaded.conflicts().get(0).path("conflictId").asText());
            assertEquals(300, add(j, 300).seq);
        }
    }

    @Test
    void aTornLastRecordFromACrashIsDroppedAndEverythingBeforeItKept() throws IOException {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            add(j, 1);
            add(j, 2);
        }
        long intact = Files.size(file);
        Files.writeString(file, "{\"k\":\"op\",\"opId\":\"x:3\",\"se", StandardOpenOption.APPEND);
        try (FileJournal j = FileJournal.open(file, 0)) {
            assertEquals(2, j.load().ops().size());
            assertEquals(intact, Files.size(file), "the torn record is cut off");
            assertEquals(3, add(j, 3).seq);
        }
        try (FileJournal j = FileJournal.open(file, 0)) {
            assertEquals(3, j.load().ops().size());
        }
    }

    @Test
    void anUnreadableRecordBeforeTheEndFailsTheOpenAsCorrupt() throws IOException {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            add(j, 1);
        }
        Files.writeString(file, "not json\n", StandardOpenOption.APPEND);
        try (FileJournal j = FileJournal.open(dir.resolve("other.journal"), 0)) {
            add(j, 1);
        }
        Files.write(file, Files.readAllBytes(dir.resolve("other.journal")), StandardOpenOption.APPEND);
        QueueStorageException e = assertThrows(QueueStorageException.class, () -> FileJournal.open(file, 0));
        assertEquals(QueueStorageException.Kind.CORRUPT, e.kind());
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
    }

    @Test
    void aJournalInUseByAnotherClientIsRefused() {
        Path file = dir.resolve("q.journal");
        try (FileJournal j = FileJournal.open(file, 0)) {
            QueueStorageException e = assertThrows(QueueStorageException.class, () -> FileJournal.open(file, 0));
            assertEquals(QueueStorageException.Kind.IN_USE, e.kind());
        }
        FileJournal.open(file, 0).close(); // free again once closed
    }

    @Test
    void aFullJournalRefusesTheWriteAndLosesNothingStoredBefore() {
        Path file = dir.resolve("q.journal");
        int stored = 0;
        try (FileJournal j = FileJournal.open(file, 2_000)) {
            QueueStorageException full = null;
            while (full == null) {
                try {
                    add(j, stored + 1);
                    stored++;
                } catch (QueueStorageException e) {
                    full = e;
                }
            }
            assertEquals(QueueStorageException.Kind.FULL, full.kind());
            assertTrue(stored > 3, "stored " + stored);
        }
        try (FileJournal j = FileJournal.open(file, 2_000)) {
            assertEquals(stored, j.load().ops().size());
            j.remove(1);
            add(j, 99); // room again after an operation left
        }
    }

    @Test
    void aJournalThatCannotBeCreatedIsAnIoError() throws IOException {
        Path notADirectory = dir.resolve("plain-file");
        Files.writeString(notADirectory, "x", StandardCharsets.UTF_8);
        QueueStorageException e = assertThrows(QueueStorageException.class,
                () -> FileJournal.open(notADirectory.resolve("q.journal"), 0));
        assertEquals(QueueStorageException.Kind.IO, e.kind());
    }
}
