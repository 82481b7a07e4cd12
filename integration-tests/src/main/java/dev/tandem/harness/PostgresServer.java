package dev.tandem.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private PostgreSQL instance ({@code initdb} into the work directory, {@code pg_ctl} on a free
 * port of 127.0.0.1, trust authentication, user {@code postgres}), for tests that stop and
 * restart the database without touching the shared one. Binaries are found as
 * {@code scripts/services.sh} installs them ({@code /usr/lib/postgresql/<version>/bin}, else the
 * PATH); as root the server runs as the {@code postgres} user. A JVM shutdown hook stops every
 * instance it started, and instances a dead run left behind are stopped by the next start.
 */
public final class PostgresServer implements AutoCloseable {
    private static final Set<Path> STARTED = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> STARTED.forEach(d -> {
            try {
                ctl(d, List.of("stop", "-m", "immediate", "-w", "-t", "10"));
            } catch (RuntimeException e) {
                // best effort on the way out
            }
        }), "tandem-harness-postgres"));
    }

    private final Path dir;
    private final int port;

    private PostgresServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Creates and starts an instance named {@code name} (a fresh cluster each time). */
    public static PostgresServer start(String name) {
        reapStale();
        Path dir = Work.dir().resolve("pg-" + name);
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            Files.createDirectories(dir);
            if (root()) {
                UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
                Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dir, e);
        }
        run(List.of(bin("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust", "-U", "postgres",
                "--no-sync", "-E", "UTF8"), Duration.ofSeconds(120), "initdb");
        PostgresServer pg = new PostgresServer(dir, Work.freePort());
        STARTED.add(dir);
        pg.begin();
        return pg;
    }

    /** {@code jdbc:postgresql://127.0.0.1:port/postgres}. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    }

    public int port() {
        return port;
    }

    /** Starts the server and waits until it accepts connections. */
    public void begin() {
        ctl(dir, List.of("start", "-w", "-t", "60", "-l", dir.resolve("server.log").toString(), "-o",
                "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1"));
    }

    /** Fast shutdown: open transactions are rolled back, clients disconnected. */
    public void stop() {
        ctl(dir, List.of("stop", "-m", "fast", "-w", "-t", "60"));
    }

    /** Stops, waits {@code down}, starts again on the same port with the same data. */
    public void restart(Duration down) {
        stop();
        Work.sleep(down.toMillis());
        begin();
    }

    @Override
    public void close() {
        try {
            ctl(dir, List.of("stop", "-m", "immediate", "-w", "-t", "30"));
        } catch (RuntimeException e) {
            // already stopped
        }
        STARTED.remove(dir);
    }

    private static void ctl(Path dir, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(bin("pg_ctl").toString(), "-D", dir.resolve("data").toString()));
        cmd.addAll(args);
        run(cmd, Duration.ofSeconds(90), "pg_ctl " + args.getFirst());
    }

    private static void run(List<String> command, Duration timeout, String what) {
        List<String> cmd = new ArrayList<>();
        if (root()) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(command);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(what + " did not finish within " + timeout);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(what + " failed (" + p.exitValue() + "): "
                        + new String(out, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(what + " could not run", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static Path bin(String name) {
        Optional<Path> versioned = Optional.empty();
        Path lib = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(lib)) {
            try (Stream<Path> versions = Files.list(lib)) {
                versioned = versions.filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                        .max(Comparator.comparingDouble(v -> Double.parseDouble(v.getFileName().toString())))
                        .map(v -> v.resolve("bin").resolve(name)).filter(Files::isExecutable);
            } catch (IOException e) {
                // fall back to the PATH
            }
        }
        return versioned.or(() -> Work.binary(name, List.of()))
                .orElseThrow(() -> new IllegalStateException(name + " not found (looked in /usr/lib/postgresql/*/bin "
                        + "and the PATH): install PostgreSQL ('apt-get install postgresql'; scripts/services.sh up does)"));
    }

    /** Stops instances a dead harness JVM left running in the work directory. */
    private static void reapStale() {
        try (Stream<Path> dirs = Files.list(Work.dir())) {
            dirs.filter(d -> d.getFileName().toString().startsWith("pg-") && !STARTED.contains(d))
                    .filter(d -> Files.exists(d.resolve("data/postmaster.pid")))
                    .forEach(d -> {
                        try {
                            ctl(d, List.of("stop", "-m", "immediate", "-w", "-t", "10"));
                        } catch (RuntimeException e) {
                            // stale pid file of a server that is gone
                        }
                    });
        } catch (IOException e) {
            // nothing to reap
        }
    }
}
