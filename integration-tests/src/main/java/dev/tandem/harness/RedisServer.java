package dev.tandem.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private {@code redis-server} on a free port of 127.0.0.1, for tests that kill or restart
 * Redis: the shared service is never touched. With {@code appendonly} every write is in the
 * append-only file before Redis answers ({@code appendfsync always}), so even a SIGKILL loses
 * nothing acknowledged; without it a restart comes back empty.
 */
public final class RedisServer implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final boolean appendOnly;
    private final List<String> extraArgs;
    private Process process;

    private RedisServer(Path dir, int port, boolean appendOnly, List<String> extraArgs) {
        this.dir = dir;
        this.port = port;
        this.appendOnly = appendOnly;
        this.extraArgs = List.copyOf(extraArgs);
    }

    /** Starts one, failing with how to install Redis when there is no {@code redis-server}. */
    public static RedisServer start(String name, boolean appendOnly) {
        return start(name, appendOnly, List.of());
    }

    /** Starts one with more command-line settings ({@code --name value} pairs), e.g. a cluster node's. */
    static RedisServer start(String name, boolean appendOnly, List<String> extraArgs) {
        reapStale();
        Path dir = Work.dir().resolve("redis-" + name);
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RedisServer r = new RedisServer(dir, Work.freePort(), appendOnly, extraArgs);
        r.launch();
        return r;
    }

    private static Path executable() {
        return Work.binary("redis-server", List.of(Path.of("/usr/bin"), Path.of("/usr/local/bin"), Path.of("/usr/sbin")))
                .orElseThrow(() -> new IllegalStateException("redis-server not found on the PATH: install it "
                        + "('apt-get install redis-server'; scripts/services.sh up does)"));
    }

    private void launch() {
        List<String> cmd = new ArrayList<>(List.of(executable().toString(), "--port", String.valueOf(port),
                "--bind", "127.0.0.1", "--dir", dir.toString(), "--save", "", "--daemonize", "no",
                "--pidfile", dir.resolve("redis.pid").toString(), "--logfile", dir.resolve("redis.log").toString()));
        if (appendOnly) {
            cmd.addAll(List.of("--appendonly", "yes", "--appendfsync", "always"));
        } else {
            cmd.addAll(List.of("--appendonly", "no"));
        }
        cmd.addAll(extraArgs);
        try {
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("stdout.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start redis-server", e);
        }
        Reaper.track(process);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if ("PONG".equals(command("PING"))) {
                    return;
                }
            } catch (IOException e) {
                // not yet
            }
            if (!process.isAlive()) {
                break;
            }
            Work.sleep(50);
        }
        throw new IllegalStateException("redis-server on port " + port + " did not start:\n" + Work.tail(dir.resolve("redis.log"), 20));
    }

    /** {@code redis://127.0.0.1:port}. */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** The folder of its files (log, append-only file, cluster state). */
    Path dir() {
        return dir;
    }

    /** CPU time the server used so far (this incarnation). */
    public java.time.Duration cpu() {
        return process.toHandle().info().totalCpuDuration().orElse(java.time.Duration.ZERO);
    }

    /** Whether the process runs. */
    public boolean alive() {
        return process != null && process.isAlive();
    }

    /** SIGKILL: Redis dies at once. */
    public void kill() {
        process.destroyForcibly();
        waitGone();
    }

    /** SIGKILL, then a new server on the same port and directory (AOF replayed when on). */
    public void restart(Duration down) {
        kill();
        Work.sleep(down.toMillis());
        launch();
    }

    private void waitGone() {
        try {
            process.waitFor(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Reaper.untrack(process);
    }

    /**
     * Sends one command (arguments without spaces) inline and returns the reply's first line
     * without its type marker, or the first element's count for arrays.
     */
    public String command(String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            StringBuilder req = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                byte[] b = a.getBytes(StandardCharsets.UTF_8);
                req.append('$').append(b.length).append("\r\n").append(a).append("\r\n");
            }
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    line.append((char) c);
                }
            }
            if (line.isEmpty()) {
                throw new IOException("no reply");
            }
            if (line.charAt(0) == '-') {
                throw new IOException("redis error: " + line.substring(1));
            }
            if (line.charAt(0) == '$') {
                int n = Integer.parseInt(line.substring(1));
                if (n < 0) {
                    return "";
                }
                byte[] body = in.readNBytes(n);
                return new String(body, StandardCharsets.UTF_8);
            }
            return line.substring(1);
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            kill();
        }
    }

    /** Kills redis-servers whose pid file a dead harness JVM left in the work directory. */
    private static void reapStale() {
        try (Stream<Path> dirs = Files.list(Work.dir())) {
            dirs.filter(d -> d.getFileName().toString().startsWith("redis-")).map(d -> d.resolve("redis.pid"))
                    .filter(Files::isRegularFile).forEach(pidFile -> {
                        try {
                            long pid = Long.parseLong(Files.readString(pidFile).trim());
                            ProcessHandle.of(pid).filter(h -> h.info().command().orElse("").contains("redis"))
                                    .filter(h -> h.parent().map(p -> p.pid() != ProcessHandle.current().pid()).orElse(true))
                                    .ifPresent(ProcessHandle::destroyForcibly);
                        } catch (IOException | NumberFormatException e) {
                            // not ours to judge
                        }
                    });
        } catch (IOException e) {
            // nothing to reap
        }
    }
}
