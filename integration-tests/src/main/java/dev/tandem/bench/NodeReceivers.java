package dev.tandem.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Subscribed WebSocket receivers in Node processes ({@code api-contract/typescript/bench/receivers.cjs},
 * npm {@code ws} clients): each takes the arrival time of {@code bench.tick} events against the
 * producer's {@code System.nanoTime()} in their data, the same monotonic clock on one machine.
 * Node's clients cost a fraction of the JDK's CPU per message, so on a small machine the clients
 * do not take the cores the gateways need (1,000 JDK clients used as much CPU as both gateways).
 */
final class NodeReceivers implements AutoCloseable {
    private record Receiver(Process process, BufferedReader out, Path file, Path errors) {
    }

    private final List<Receiver> receivers = new ArrayList<>();

    private NodeReceivers() {
    }

    /**
     * Starts {@code processes} Node processes holding {@code connections} sockets between them,
     * round robin over {@code urls}, each subscribed to {@code channel}; answers once every socket
     * is subscribed. Installs the TypeScript package's dependencies first when {@code ws} is missing.
     */
    static NodeReceivers start(int connections, int processes, List<String> urls, String token, String channel,
                               int expected, int deadlineSeconds) throws IOException, InterruptedException {
        Path pkg = typescriptPackage();
        if (!Files.isDirectory(pkg.resolve("node_modules/ws"))) {
            run(pkg, List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"));
        }
        NodeReceivers r = new NodeReceivers();
        try {
            for (int p = 0; p < processes; p++) {
                int share = connections / processes + (p < connections % processes ? 1 : 0);
                Path file = Files.createTempFile("tandem-receivers-", ".txt");
                Path errors = Files.createTempFile("tandem-receivers-", ".err");
                // never the JVM's own stdin or stdout: Node makes an inherited stdin non-blocking,
                // and a test runner's forked JVM talks to its runner through both
                ProcessBuilder b = new ProcessBuilder("node", pkg.resolve("bench/receivers.cjs").toString(),
                        String.valueOf(share), String.join(",", urls), token, channel, String.valueOf(expected),
                        file.toString(), String.valueOf(deadlineSeconds)).redirectError(errors.toFile());
                b.environment().put("NODE_PATH", pkg.resolve("node_modules").toString());
                Process process = b.start();
                process.getOutputStream().close();
                r.receivers.add(new Receiver(process, new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8)), file, errors));
            }
            for (Receiver x : r.receivers) {
                expectLine(x, "ready");
            }
            return r;
        } catch (IOException | RuntimeException e) {
            r.close();
            throw e;
        }
    }

    /** Waits for every process to report its latencies (nanoseconds) and answers them all. */
    long[] latencies() throws IOException {
        List<long[]> parts = new ArrayList<>();
        int total = 0;
        for (Receiver x : receivers) {
            expectLine(x, "done");
            long[] part = Files.readAllLines(x.file()).stream().filter(l -> !l.isBlank())
                    .mapToLong(Long::parseLong).toArray();
            parts.add(part);
            total += part.length;
        }
        long[] all = new long[total];
        int at = 0;
        for (long[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    private static void expectLine(Receiver x, String word) throws IOException {
        String line = x.out().readLine();
        if (line == null || !line.startsWith(word)) {
            throw new IOException("a Node receiver process said " + line + " instead of " + word + ": "
                    + Files.readString(x.errors()).strip());
        }
    }

    @Override
    public void close() {
        for (Receiver x : receivers) {
            x.process().destroy();
            try {
                Files.deleteIfExists(x.file());
                Files.deleteIfExists(x.errors());
            } catch (IOException e) {
                // a temporary file left behind: nothing to do about it here
            }
        }
    }

    /** The TypeScript client's package folder, found from the working directory up. */
    private static Path typescriptPackage() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path pkg = dir.resolve("api-contract/typescript");
            if (Files.isRegularFile(pkg.resolve("bench/receivers.cjs"))) {
                return pkg;
            }
        }
        throw new IOException("api-contract/typescript/bench/receivers.cjs not found from " + Path.of("").toAbsolutePath()
                + ": run the benchmark from the repository (./tandem bench-kafka)");
    }

    private static void run(Path dir, List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("tandem-npm-", ".log");
        try {
            Process p;
            try {
                p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                throw new IOException("the benchmark's receivers need Node 20+ and npm on the PATH: " + e.getMessage(), e);
            }
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed in " + dir + ": " + Files.readString(log).strip());
            }
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
