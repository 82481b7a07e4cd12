package dev.tandem.conflict;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import dev.tandem.document.Documents;
import dev.tandem.conformance.DocumentsConformanceTest;
import dev.tandem.conformance.QueuedEditsConformanceTest;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;

/** The document port's conformance suites on the standalone adapter: an H2 file database. */
class H2DocumentStoreTest extends DocumentsConformanceTest {
    private static Path dir;

    @BeforeAll
    static void database() throws IOException {
        dir = Files.createTempDirectory("tandem-h2-");
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
        return DocumentStore.create(config(settings, dir.resolve("tandem")));
    }

    /** The queued-edits part of the contract, on the same database. */
    @Nested
    class QueuedEdits extends QueuedEditsConformanceTest {
        @Override
        protected Documents open(Map<String, String> settings) {
            return H2DocumentStoreTest.this.open(settings);
        }
    }

    /** Settings for an H2 file database at {@code file} (without extension). */
    static Config config(Map<String, String> settings, Path file) {
        Map<String, String> m = new HashMap<>(settings);
        m.put("db.url", "jdbc:h2:file:" + file.toAbsolutePath() + ";LOCK_TIMEOUT=10000");
        m.put("prune-interval", "PT0S");
        return Config.just(ConfigSources.create(m));
    }
}
