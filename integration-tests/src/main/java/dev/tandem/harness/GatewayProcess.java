package dev.tandem.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One gateway node as users run it: {@code java -jar gateway/target/tandem-gateway.jar} in its own
 * OS process (the JDK of this JVM, the jar's own classpath from its manifest), configured by a YAML
 * file passed as {@code -Dtandem.config.file}, stdout and stderr in files under
 * {@link Work#dir()}. {@link #start} returns once {@code /health/ready} answers 200.
 *
 * <p>Every node gets {@code server.host: 127.0.0.1}, a port of its own ({@code server.port: 0},
 * read back from the start-up line), {@code tandem.node-id} = its name and development mode
 * (tokens from {@link dev.tandem.gateway.DevTokens}); the given configuration overrides these.
 */
public final class GatewayProcess implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GatewayProcess.class.getName());
    private static final Pattern RUNNING = Pattern.compile("Tandem is running: wss?://[^:]+:(\\d+)/ws");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

    private final String name;
    private final Process process;
    private final Path dir;
    private final int port;

    private GatewayProcess(String name, Process process, Path dir, int port) {
        this.name = name;
        this.process = process;
        this.dir = dir;
        this.port = port;
    }

    /** The packaged gateway: {@code tandem.it.gateway-jar}, else {@code gateway/target/tandem-gateway.jar} under the root. */
    public static Path jar() {
        String given = System.getProperty("tandem.it.gateway-jar");
        Path jar = given != null ? Path.of(given) : Work.root().resolve("gateway/target/tandem-gateway.jar");
        jar = jar.toAbsolutePath().normalize();
        if (!Files.isRegularFile(jar) || !Files.isDirectory(jar.resolveSibling("libs"))) {
            throw new IllegalStateException("the packaged gateway " + jar + " (with libs/ beside it) is missing: "
                    + "build it with 'mvn -pl gateway -am package' (mvn verify does it before the integration tests)");
        }
        return jar;
    }

    /** Starts a node with the default JVM options ({@code -Xmx512m}). */
    public static GatewayProcess start(String name, Map<String, String> config) {
        return start(name, config, List.of("-Xmx512m"));
    }

    /**
     * Starts a node and waits until it is ready.
     *
     * @param name    node id, and the name of its folder under {@link Work#dir()}
     * @param config  flat configuration keys ({@code tandem.redis.address}) and values
     * @param jvm     JVM options
     * @throws IllegalStateException with the end of its output when it exits or is not ready in time
     */
    public static GatewayProcess start(String name, Map<String, String> config, List<String> jvm) {
        return start(name, config, jvm, Map.of());
    }

    /**
     * Starts a node with environment variables too, the way a container is configured
     * ({@code TANDEM_REDIS_CLUSTER_dash_NODES=redis://a:7000,redis://b:7000}); other inherited
     * {@code TANDEM_} and {@code SERVER_} variables are dropped.
     */
    public static GatewayProcess start(String name, Map<String, String> config, List<String> jvm,
                                       Map<String, String> env) {
        Reaper.reapOrphans();
        Path jar = jar();
        Path dir = Work.dir().resolve("node-" + name);
        Map<String, String> all = new LinkedHashMap<>();
        all.put("server.host", "127.0.0.1");
        all.put("server.port", "0");
        all.put("tandem.node-id", name);
        all.put("tandem.dev-mode", "true");
        all.put("tandem.drain-timeout", "PT5S");
        all.putAll(config);
        try {
            Files.createDirectories(dir);
            Path yaml = dir.resolve("config.yaml");
            Files.writeString(yaml, yaml(all));
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(jvm);
            cmd.add(Reaper.marker());
            cmd.add("-Dtandem.config.file=" + yaml);
            cmd.add("-jar");
            cmd.add(jar.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
                    .redirectOutput(dir.resolve("stdout.log").toFile())
                    .redirectError(dir.resolve("stderr.log").toFile());
            // only the file and env configure the node: drop inherited overrides (SERVER_PORT, TANDEM_…)
            pb.environment().keySet().removeIf(k -> k.startsWith("TANDEM_") || k.startsWith("SERVER_"));
            pb.environment().putAll(env);
            Process p = pb.start();
            Reaper.track(p);
            try {
                int port = awaitPort(name, p, dir);
                GatewayProcess node = new GatewayProcess(name, p, dir, port);
                node.awaitReady(START_TIMEOUT);
                return node;
            } catch (RuntimeException e) {
                p.destroyForcibly();
                Reaper.untrack(p);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start gateway " + name, e);
        }
    }

    private static int awaitPort(String name, Process p, Path dir) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Path out = dir.resolve("stdout.log");
        while (System.nanoTime() < deadline) {
            try {
                Matcher m = RUNNING.matcher(Files.readString(out, StandardCharsets.UTF_8));
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            } catch (IOException | UncheckedIOException e) {
                // not written yet
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("gateway " + name + " exited with " + p.exitValue() + " before serving:\n"
                        + Work.tail(dir.resolve("stderr.log"), 30) + "\n" + Work.tail(out, 10));
            }
            Work.sleep(100);
        }
        throw new IllegalStateException("gateway " + name + " did not print its address within " + START_TIMEOUT + ":\n"
                + Work.tail(dir.resolve("stderr.log"), 30));
    }

    /** Waits until {@code /health/ready} answers 200. */
    public void awaitReady(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (readyStatus() == 200) {
                return;
            }
            if (!process.isAlive()) {
                throw new IllegalStateException("gateway " + name + " exited with " + process.exitValue() + ":\n"
                        + Work.tail(stderr(), 30));
            }
            Work.sleep(100);
        }
        throw new IllegalStateException("gateway " + name + " not ready within " + timeout + ": " + health("/health/ready")
                + "\n" + Work.tail(stderr(), 30));
    }

    /** The status of {@code /health/ready}, or -1 when it cannot be reached. */
    public int readyStatus() {
        try {
            return get("/health/ready", Optional.empty()).statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The body of a health endpoint, or why it could not be read. */
    public String health(String path) {
        try {
            return get(path, Optional.empty()).body();
        } catch (IOException e) {
            return "(unreachable: " + e.getMessage() + ")";
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean alive() {
        return process.isAlive();
    }

    public URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/ws");
    }

    public URI http(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    public Path stdout() {
        return dir.resolve("stdout.log");
    }

    public Path stderr() {
        return dir.resolve("stderr.log");
    }

    /** GET with an optional bearer token. */
    public HttpResponse<String> get(String path, Optional<String> token) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10));
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        return send(b.build());
    }

    /** POST of a JSON body with a bearer token. */
    public HttpResponse<String> post(String path, String token, String body) throws IOException {
        return send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private static HttpResponse<String> send(HttpRequest request) throws IOException {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** SIGKILL: the node dies at once, as in a crash or an OOM kill. Waits until it is gone. */
    public void kill() {
        process.destroyForcibly();
        await(Duration.ofSeconds(30));
    }

    /** SIGTERM: the node drains as on a deploy. Waits until it is gone (SIGKILL after {@code timeout}). */
    public void stop(Duration timeout) {
        process.destroy();
        if (!await(timeout)) {
            LOG.log(System.Logger.Level.WARNING, "gateway " + name + " did not stop within " + timeout + "; killing it");
            kill();
        }
    }

    private boolean await(Duration timeout) {
        try {
            boolean gone = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (gone) {
                Reaper.untrack(process);
            }
            return gone;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** CPU time the process used so far. */
    public Duration cpu() {
        return process.toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
    }

    /** Live heap after a full GC (jcmd GC.run, then the JVM's own {@code memory_usedHeap_bytes} in /metrics). */
    public long heapAfterGc() {
        jcmd("GC.run");
        try {
            String metrics = get("/metrics", Optional.empty()).body();
            Matcher m = Pattern.compile("(?m)^memory_usedHeap_bytes(?:\\{[^}]*})?\\s+([0-9.Ee+]+)").matcher(metrics);
            if (m.find()) {
                return (long) Double.parseDouble(m.group(1));
            }
            throw new IllegalStateException("no memory_usedHeap_bytes in /metrics of " + name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Threads of the process (Linux /proc). */
    public int threads() {
        try (Stream<String> lines = Files.lines(Path.of("/proc", String.valueOf(pid()), "status"))) {
            return lines.filter(l -> l.startsWith("Threads:")).map(l -> Integer.parseInt(l.substring(8).trim()))
                    .findFirst().orElse(-1);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Open file descriptors of the process (Linux /proc). */
    public long openFiles() {
        try (Stream<Path> fds = Files.list(Path.of("/proc", String.valueOf(pid()), "fd"))) {
            return fds.count();
        } catch (IOException e) {
            return -1;
        }
    }

    /** Runs a jcmd command against the node and returns its output. */
    public String jcmd(String command) {
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                    String.valueOf(pid()), command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("jcmd " + command + " failed on " + name + ": " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Stops the node gracefully if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            stop(Duration.ofSeconds(15));
        }
        Reaper.untrack(process);
    }

    @Override
    public String toString() {
        return "gateway " + name + " (pid " + pid() + ", port " + port + ")";
    }

    /** Flat dotted keys as nested YAML; every value a double-quoted string (Helidon converts). */
    static String yaml(Map<String, String> flat) {
        Map<String, Object> tree = new TreeMap<>();
        for (Map.Entry<String, String> e : flat.entrySet()) {
            String[] parts = e.getKey().split("\\.");
            Map<String, Object> node = tree;
            for (int i = 0; i < parts.length - 1; i++) {
                @SuppressWarnings("unchecked")
                Map<String, Object> child = (Map<String, Object>) node.computeIfAbsent(parts[i], k -> new TreeMap<>());
                node = child;
            }
            node.put(parts[parts.length - 1], e.getValue());
        }
        StringBuilder out = new StringBuilder();
        write(tree, 0, out);
        return out.toString();
    }

    private static void write(Map<String, Object> node, int indent, StringBuilder out) {
        for (Map.Entry<String, Object> e : node.entrySet()) {
            out.append("  ".repeat(indent)).append(e.getKey()).append(':');
            if (e.getValue() instanceof Map<?, ?> child) {
                out.append('\n');
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) child;
                write(m, indent + 1, out);
            } else {
                out.append(' ').append(quote(String.valueOf(e.getValue()))).append('\n');
            }
        }
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
