package dev.tandem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine's layers point one way: the ports (and their memory adapters) know nothing of the
 * operations layer, the connection runtime or the adapters to outside systems; the operations
 * layer knows nothing of the connection runtime or those adapters; the connection runtime calls
 * down only; and the Kafka and HTTP-hook adapters depend on the ports, never the other way round.
 * Read from the sources: every {@code dev.tandem.PACKAGE.} a file names (imports, qualified
 * names, links) counts.
 */
class DependencyDirectionTest {
    private static final Path SOURCES = Path.of("src/main/java/dev/tandem");
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.tandem\\.([a-z]+)\\.");
    private static final Set<String> PORTS = Set.of("auth", "broker", "channel", "document", "hub", "inbox",
            "presence", "telemetry");

    /** What each package of sync-core must not name. */
    private static final Map<String, Set<String>> NEVER = Map.ofEntries(
            Map.entry("ports", Set.of("operations", "session", "kafka", "hooks")),
            Map.entry("operations", Set.of("session", "kafka", "hooks")),
            Map.entry("session", Set.of("kafka", "hooks")),
            Map.entry("kafka", Set.of("operations", "session", "hooks")),
            Map.entry("hooks", Set.of("session")));

    @Test
    void everyLayerNamesOnlyWhatIsBelowIt() throws IOException {
        assertTrue(Files.isDirectory(SOURCES), "run from the sync-core module: " + SOURCES.toAbsolutePath());
        List<String> crossings = new ArrayList<>();
        List<Path> files;
        try (Stream<Path> s = Files.walk(SOURCES)) {
            files = s.filter(p -> p.toString().endsWith(".java")).toList();
        }
        for (Path file : files) {
            String pkg = SOURCES.relativize(file).getName(0).toString();
            Set<String> never = NEVER.get(PORTS.contains(pkg) ? "ports" : pkg);
            if (never == null) {
                continue;
            }
            Matcher m = REFERENCE.matcher(Files.readString(file));
            while (m.find()) {
                if (never.contains(m.group(1))) {
                    crossings.add(SOURCES.relativize(file) + " names dev.tandem." + m.group(1));
                }
            }
        }
        assertEquals(List.of(), crossings.stream().distinct().toList());
    }
}
