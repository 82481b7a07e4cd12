package dev.tandem.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Where harness processes keep their files, and how the harness finds binaries and ports. */
public final class Work {
    private Work() {
    }

    /** The harness's working directory: {@code tandem.it.work}, else {@code target/it-work}. */
    public static Path dir() {
        Path d = Path.of(System.getProperty("tandem.it.work", "target/it-work")).toAbsolutePath().normalize();
        try {
            Files.createDirectories(d);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return d;
    }

    /** The repository root: {@code tandem.it.root}, else the first parent holding {@code tandem}. */
    public static Path root() {
        String given = System.getProperty("tandem.it.root");
        if (given != null) {
            return Path.of(given).toAbsolutePath().normalize();
        }
        Path d = Path.of("").toAbsolutePath();
        while (d != null && !Files.isRegularFile(d.resolve("tandem"))) {
            d = d.getParent();
        }
        if (d == null) {
            throw new IllegalStateException("cannot find the repository root (no 'tandem' launcher above "
                    + Path.of("").toAbsolutePath() + "); set -Dtandem.it.root");
        }
        return d;
    }

    /** A TCP port free on 127.0.0.1 right now. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The executable {@code name} on the PATH or in one of {@code extra}, the way scripts/services.sh finds it. */
    static Optional<Path> binary(String name, List<Path> extra) {
        Stream<Path> path = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .filter(s -> !s.isBlank()).map(Path::of);
        return Stream.concat(path, extra.stream()).map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
    }

    /** The last {@code lines} lines of a log file, for failure messages. */
    static String tail(Path file, int lines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file + ")";
            }
            List<String> all = Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
