package dev.tandem.gateway;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.helidon.health.HealthCheckResponse;

/**
 * A readiness check answered from state that a background probe keeps, so a health request
 * never waits on a backend. Every {@code interval} the probe runs on a virtual thread (never two
 * at once); an answer slower than {@code budget}, a {@code false} or an exception is a failure.
 *
 * <p>Hysteresis, so one slow answer under load does not flap: UP turns DOWN after
 * {@code downAfter} consecutive failures, or at once when a probe is still unanswered after
 * the budget (a hanging backend, noticed without waiting for it); DOWN turns UP after
 * {@code upAfter} consecutive successes. At start the first probe decides (waited for at most
 * the budget).
 */
final class BackgroundCheck {
    private static final System.Logger LOG = System.getLogger(BackgroundCheck.class.getName());

    private final String name;
    private final BooleanSupplier probe;
    private final long budgetNanos;
    private final int downAfter;
    private final int upAfter;
    private volatile boolean up;
    private volatile long lastMillis = -1;
    /** When the probe in flight started ({@link System#nanoTime}), or 0. Guarded by this. */
    private long inFlightSince;
    /** Whether the probe in flight was already counted as failed for outlasting the budget. Guarded by this. */
    private boolean overdueCounted;
    /** True until the first probe has been recorded: it decides the initial state alone. Guarded by this. */
    private boolean firstAnswer = true;
    /** Guarded by this. */
    private int failures;
    /** Guarded by this. */
    private int successes;

    /**
     * Probes {@code probe} every {@code interval} on {@code timer}.
     *
     * @param name what the log calls it
     */
    BackgroundCheck(String name, BooleanSupplier probe, Duration interval, Duration budget, int downAfter, int upAfter,
                    ScheduledExecutorService timer) {
        this.name = name;
        this.probe = probe;
        this.budgetNanos = budget.toNanos();
        this.downAfter = downAfter;
        this.upAfter = upAfter;
        Thread first = start(System.nanoTime());
        try {
            first.join(budget);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        timer.scheduleWithFixedDelay(this::tick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether the check is UP: a field read, never a call to the backend. */
    boolean up() {
        return up;
    }

    /** The check's answer for the health endpoint: its state and how long the last probe took. */
    HealthCheckResponse.Builder response() {
        return HealthCheckResponse.builder().status(up).detail("probe-ms", lastMillis);
    }

    /** Runs on the timer thread: notices a probe that outlasts the budget, or starts the next one. */
    private void tick() {
        long now = System.nanoTime();
        synchronized (this) {
            if (inFlightSince != 0) {
                if (now - inFlightSince > budgetNanos && !overdueCounted) {
                    overdueCounted = true;
                    record(false, true, now - inFlightSince);
                }
                return;
            }
        }
        start(now);
    }

    private Thread start(long now) {
        synchronized (this) {
            inFlightSince = now;
            overdueCounted = false;
        }
        return Thread.ofVirtual().name("tandem-health-" + name).start(() -> {
            boolean ok;
            try {
                ok = probe.getAsBoolean();
            } catch (RuntimeException e) {
                ok = false;
            }
            long took = System.nanoTime() - now;
            boolean counted;
            synchronized (this) {
                inFlightSince = 0;
                counted = overdueCounted;
            }
            if (!counted) {
                record(ok && took <= budgetNanos, false, took);
            }
        });
    }

    private synchronized void record(boolean ok, boolean overdue, long tookNanos) {
        lastMillis = TimeUnit.NANOSECONDS.toMillis(tookNanos);
        if (ok) {
            failures = 0;
            successes++;
            if (!up && (successes >= upAfter || firstAnswer)) {
                up = true;
                if (!firstAnswer) {
                    LOG.log(System.Logger.Level.WARNING, "readiness check " + name + " is UP again");
                }
            }
        } else {
            successes = 0;
            failures++;
            if (up && (overdue || failures >= downAfter)) {
                up = false;
                LOG.log(System.Logger.Level.WARNING, "readiness check " + name + " is DOWN: "
                        + (overdue ? "no answer within " + TimeUnit.NANOSECONDS.toMillis(budgetNanos) + " ms"
                        : failures + " probes in a row failed (the last took " + lastMillis + " ms)"));
            }
        }
        firstAnswer = false;
    }
}
