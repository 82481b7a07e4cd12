package dev.tandem.conflict;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import dev.tandem.document.Documents;
import dev.tandem.document.QueuedEditsConformanceTest;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The queued-edits part of the document port's contract on the standalone adapter (H2 file). */
class H2QueuedEditsTest extends QueuedEditsConformanceTest {
    private static Path dir;

    @BeforeAll
    static void database() throws IOException {
        dir = Files.createTempDirectory("tandem-h2-chains-");
    }

    @AfterAll
    static void removeDatabase() throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Override
    protected Documents open(Map<String, String> settings) {
        return DocumentStore.create(H2DocumentStoreTest.config(settings, dir.resolve("tandem")));
    }
}
