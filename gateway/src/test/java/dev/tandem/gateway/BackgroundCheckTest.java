package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A readiness check kept by a background probe: read without waiting, DOWN at once for a
 * probe that outlasts the budget, not for one failure, UP again only after successes in a row.
 */
class BackgroundCheckTest {
    private static final Duration INTERVAL = Duration.ofMillis(100);
    private static final Duration BUDGET = Duration.ofMillis(400);

    private enum Mode { OK, FAIL, HANG }

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.OK);
    private final AtomicReference<CountDownLatch> hang = new AtomicReference<>(new CountDownLatch(1));
    /** Results for the next probes, one each, before {@link #mode} applies again. */
    private final java.util.Queue<Mode> next = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final List<Mode> seen = new ArrayList<>();

    @AfterEach
    void stop() {
        hang.get().countDown();
        timer.shutdownNow();
    }

    private boolean probe() {
        Mode scripted = next.poll();
        Mode m = scripted != null ? scripted : mode.get();
        synchronized (seen) {
            seen.add(m);
        }
        return switch (m) {
            case OK -> true;
            case FAIL -> false;
            case HANG -> {
                try {
                    hang.get().await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                yield true;
            }
        };
    }

    private BackgroundCheck check() {
        return new BackgroundCheck("test", this::probe, INTERVAL, BUDGET, 2, 2, timer);
    }

    @Test
    void aHangingBackendTurnsItDownWithinTheBudgetAndReadingItNeverWaits() throws Exception {
        BackgroundCheck check = check();
        assertTrue(check.up(), "the first probe decides");
        mode.set(Mode.HANG);
        long start = System.nanoTime();
        await(() -> !check.up(), "DOWN while the probe hangs");
        long took = (System.nanoTime() - start) / 1_000_000;
        assertTrue(took < BUDGET.plus(INTERVAL).toMillis() * 2, "DOWN after " + took + " ms");
        long read = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            check.response().build();
        }
        assertTrue(System.nanoTime() - read < 200_000_000L, "answering reads state, it does not wait for the probe");
        mode.set(Mode.OK);
        hang.get().countDown();
        await(check::up, "UP again once the backend answers");
    }

    @Test
    void oneFailureDoesNotFlapButTwoInARowDo() throws Exception {
        BackgroundCheck check = check();
        for (int i = 0; i < 20; i++) {
            int from = probes();
            next.add(Mode.FAIL);
            awaitProbe(from, Mode.FAIL);
            awaitProbe(probes(), Mode.OK);
            assertTrue(check.up(), "a single failed probe between successes leaves it UP");
        }
        mode.set(Mode.FAIL);
        await(() -> !check.up(), "DOWN after failures in a row");
        mode.set(Mode.OK);
        // after one success it may still be DOWN; within a few intervals it is UP
        await(check::up, "UP after successes in a row");
    }

    @Test
    void aFailedStartStaysDownUntilSuccessesInARow() throws Exception {
        mode.set(Mode.FAIL);
        BackgroundCheck check = check();
        assertFalse(check.up());
        mode.set(Mode.OK);
        await(check::up, "UP after successes");
    }

    private int probes() {
        synchronized (seen) {
            return seen.size();
        }
    }

    /** Waits until a probe in {@code m} ran after the first {@code from} probes. */
    private void awaitProbe(int from, Mode m) throws InterruptedException {
        await(() -> {
            synchronized (seen) {
                return seen.subList(from, seen.size()).contains(m);
            }
        }, "a probe in " + m);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 10 s: " + what);
            }
            Thread.sleep(5);
        }
    }
}
