package dev.tandem.operations;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Where the layer runs what must not run on a caller's thread, a timer or under a lock: network
 * calls on virtual threads, and periodic work on one timer thread. A failure is logged, never
 * lost silently; after {@link #close()} new work is dropped.
 */
final class Background implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Background.class.getName());

    private final ExecutorService tasks = Executors.newVirtualThreadPerTaskExecutor();
    private final ScheduledExecutorService timer;

    Background() {
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(r, "tandem-operations-timer");
            thread.setDaemon(true);
            return thread;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
    }

    /** The executor for tasks that may block on the network. */
    ExecutorService executor() {
        return tasks;
    }

    /** Runs a task that may block on the network off the caller's thread. */
    void run(Runnable task) {
        try {
            tasks.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "background task failed", e);
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.log(System.Logger.Level.DEBUG, "closing; dropped a background task");
        }
    }

    /** Runs {@code task} in the background every {@code periodMs}. */
    void every(long periodMs, Runnable task) {
        timer.scheduleWithFixedDelay(() -> run(task), periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        tasks.shutdown();
        try {
            tasks.awaitTermination(2, TimeUnit.SECONDS);
            timer.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
