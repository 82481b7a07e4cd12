package dev.tandem.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.tandem.harness.Work;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The first thing a new user does, on a clean clone with no Tandem artifacts in the local Maven
 * repository: {@code ./tandem run} serves {@code /health} and {@code ./tandem token} prints a
 * token. The clone is of this repository's HEAD (committed files only); Maven runs offline on a
 * throwaway copy of the local repository without {@code dev/tandem}, through a user settings
 * file ({@code -Duser.home} in {@code MAVEN_OPTS}), so the build must resolve every Tandem
 * module from the reactor, as on a fresh machine.
 */
class LauncherIT {
    @Test
    void aCleanCloneRunsAndPrintsATokenWithNoTandemArtifactsInstalled() throws Exception {
        Path work = Work.dir().resolve("launcher");
        delete(work);
        Files.createDirectories(work);
        Path clone = work.resolve("clone");
        run(List.of("git", "clone", "--quiet", "--no-hardlinks", Work.root().toString(), clone.toString()), work,
                Map.of(), Duration.ofMinutes(2));

        Path home = work.resolve("home");
        Path repo = home.resolve(".m2/repository");
        Files.createDirectories(home.resolve(".m2"));
        Path source = Path.of(System.getProperty("user.home"), ".m2", "repository");
        assertTrue(Files.isDirectory(source), "a local Maven repository with the third-party artifacts at " + source);
        run(List.of("cp", "-a", source.toString(), repo.toString()), work, Map.of(), Duration.ofMinutes(3));
        delete(repo.resolve("dev/tandem"));
        assertFalse(Files.exists(repo.resolve("dev/tandem")));
        Files.writeString(home.resolve(".m2/settings.xml"), """
                <settings>
                  <localRepository>%s</localRepository>
                  <offline>true</offline>
                </settings>
                """.formatted(repo));
        Map<String, String> env = Map.of("MAVEN_OPTS", "-Duser.home=" + home);

        int port = Work.freePort();
        ProcessBuilder pb = new ProcessBuilder("./tandem", "run", "--port", String.valueOf(port)).directory(clone.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("run.log").toFile());
        pb.environment().putAll(env);
        pb.environment().keySet().removeIf(k -> k.startsWith("TANDEM_") || k.startsWith("SERVER_"));
        Process gateway = pb.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + Duration.ofMinutes(8).toNanos();
            int status = -1;
            while (status != 200) {
                assertTrue(gateway.isAlive(), "./tandem run exited with " + (gateway.isAlive() ? "" : gateway.exitValue())
                        + ":\n" + tail(work.resolve("run.log")));
                assertTrue(System.nanoTime() < deadline, "./tandem run did not serve /health within 8 minutes:\n"
                        + tail(work.resolve("run.log")));
                try {
                    status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode();
                } catch (IOException e) {
                    Thread.sleep(1000);
                }
            }
            String log = Files.readString(work.resolve("run.log"));
            assertTrue(log.contains("building the gateway"), "the launcher built the clone itself:\n" + log);
            System.out.println("clean clone: ./tandem run built and served /health after "
                    + Duration.ofNanos(System.nanoTime() - (deadline - Duration.ofMinutes(8).toNanos())).toSeconds() + " s");
            assertFalse(log.contains("\u001b"), "no colour escape codes in the build's output:\n" + log);
            String out = run(List.of("./tandem", "token", "--user", "alice", "--tenant", "acme"), clone, env,
                    Duration.ofMinutes(5));
            String[] lines = out.strip().split("\n");
            String token = lines[lines.length - 1].strip();
            assertTrue(token.matches("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+"), "a JWT on the last line: " + out);
            assertFalse(Files.exists(repo.resolve("dev/tandem")), "nothing was installed into the local repository");

            everyCommandAnswersHelpAtOnce(clone, env);
            aSecondNodeFromTheSameFolderRunsOnItsOwnData(clone, env, port, work);
            assertTrue(Files.isRegularFile(clone.resolve("scripts/peer-bench/side-by-side.sh")),
                    "bench-peer's harness is part of the clone");
        } finally {
            gateway.descendants().forEach(ProcessHandle::destroyForcibly);
            gateway.destroyForcibly();
            gateway.waitFor(30, TimeUnit.SECONDS);
        }
        delete(work); // the copy of the repository is large
    }

    /** Each command's --help prints its usage within a few seconds and starts and builds nothing. */
    private static void everyCommandAnswersHelpAtOnce(Path clone, Map<String, String> env) throws Exception {
        for (String cmd : List.of("run", "test", "token", "bench", "bench-kafka", "bench-peer", "bench-connections",
                "services")) {
            long start = System.nanoTime();
            String out = run(List.of("./tandem", cmd, "--help"), clone, env, Duration.ofSeconds(20));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), cmd + " --help took too long");
            assertTrue(out.startsWith("./tandem " + cmd), cmd + " --help: " + out);
            assertFalse(out.contains("building") || out.contains("Exception"), cmd + " --help did work: " + out);
        }
        String help = run(List.of("./tandem", "help"), clone, env, Duration.ofSeconds(20));
        assertTrue(help.strip().endsWith("fetches Maven once from Maven Central."), "the whole help: " + help);
        String wrong = runAllowingFailure(List.of("./tandem", "token", "--user"), clone, env);
        assertTrue(wrong.contains("needs a value") || wrong.contains("usage"), wrong);
    }

    /**
     * A second node from the same folder on another port gets its own data and serves; one on a
     * port in use is refused with a message saying so.
     */
    private static void aSecondNodeFromTheSameFolderRunsOnItsOwnData(Path clone, Map<String, String> env, int busy,
                                                                    Path work) throws Exception {
        String refused = runAllowingFailure(List.of("./tandem", "run", "--port", String.valueOf(busy)), clone, env);
        assertTrue(refused.contains("port " + busy + " is in use"), refused);
        int port = Work.freePort();
        ProcessBuilder pb = new ProcessBuilder("./tandem", "run", "--port", String.valueOf(port)).directory(clone.toFile())
                .redirectErrorStream(true).redirectOutput(work.resolve("run2.log").toFile());
        pb.environment().putAll(env);
        pb.environment().keySet().removeIf(k -> k.startsWith("TANDEM_") || k.startsWith("SERVER_"));
        Process second = pb.start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            int status = -1;
            while (status != 200) {
                assertTrue(second.isAlive() && System.nanoTime() < deadline, "a second node did not serve:\n"
                        + tail(work.resolve("run2.log")));
                try {
                    status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode();
                } catch (IOException e) {
                    Thread.sleep(500);
                }
            }
            assertTrue(Files.isDirectory(clone.resolve("data/port-" + port)), "its own data folder");
        } finally {
            second.descendants().forEach(ProcessHandle::destroyForcibly);
            second.destroyForcibly();
            second.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static String runAllowingFailure(List<String> cmd, Path dir, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", cmd) + " did not finish");
        return new String(out, StandardCharsets.UTF_8);
    }

    private static String run(List<String> cmd, Path dir, Map<String, String> env, Duration timeout) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS), String.join(" ", cmd) + " did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    private static void delete(Path dir) throws Exception {
        if (Files.exists(dir)) {
            new ProcessBuilder("rm", "-rf", dir.toString()).start().waitFor(120, TimeUnit.SECONDS);
        }
    }
}
