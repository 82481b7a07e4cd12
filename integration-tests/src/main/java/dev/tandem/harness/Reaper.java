package dev.tandem.harness;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes sure no process the harness started outlives the JVM that started it: a shutdown hook
 * kills the live ones, and {@link #reapOrphans()} kills gateway processes whose marker names an
 * owner JVM that is gone (a run killed with SIGKILL never runs its hooks).
 */
final class Reaper {
    /** Added to every gateway command line: {@code -Dtandem.harness.owner=<pid of this JVM>}. */
    static final String MARKER = "-Dtandem.harness.owner=";
    private static final Pattern OWNER = Pattern.compile(Pattern.quote(MARKER) + "(\\d+)");
    private static final System.Logger LOG = System.getLogger(Reaper.class.getName());
    private static final List<Process> LIVE = new CopyOnWriteArrayList<>();
    private static final AtomicBoolean REAPED = new AtomicBoolean();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : LIVE) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }, "tandem-harness-reaper"));
    }

    private Reaper() {
    }

    static String marker() {
        return MARKER + ProcessHandle.current().pid();
    }

    static void track(Process p) {
        LIVE.add(p);
    }

    static void untrack(Process p) {
        LIVE.remove(p);
    }

    /** Kills gateway processes left behind by harness JVMs that no longer run (once per JVM). */
    static void reapOrphans() {
        if (!REAPED.compareAndSet(false, true)) {
            return;
        }
        ProcessHandle.allProcesses().forEach(h -> {
            String cmd = h.info().commandLine().orElse("");
            Matcher m = OWNER.matcher(cmd);
            if (m.find()) {
                long owner = Long.parseLong(m.group(1));
                if (owner != ProcessHandle.current().pid() && ProcessHandle.of(owner).map(o -> !o.isAlive()).orElse(true)) {
                    LOG.log(System.Logger.Level.WARNING, "killing orphan gateway process " + h.pid()
                            + " left by harness JVM " + owner);
                    h.destroyForcibly();
                }
            }
        });
    }
}
