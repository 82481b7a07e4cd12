package dev.tandem.push;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.telemetry.LogText;

/**
 * Sends what the {@link PushStore}'s queue holds: claims due rows (the claim is committed before
 * any push service is called, and no database connection is held while one is), sends each to its
 * device on its own virtual thread, and records the outcome — delivered, gone (the device is
 * removed), rejected, retried later with the {@link RetryPolicy}'s backoff and {@code Retry-After},
 * failed once the attempts are used up, or expired when the notification's time to live ran out
 * before it could be sent. It looks for due rows every poll interval and at once when
 * {@link #wake() woken} by a send queued on this node.
 */
public final class PushDispatcher implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PushDispatcher.class.getName());

    private final PushStore store;
    private final PushProvider<Device> providers;
    private final RetryPolicy retry;
    private final Duration lease;
    private final Duration poll;
    private final int batch;
    private final String holder;
    private final PushMetrics metrics;
    private final Clock clock;
    private final Duration historyRetention;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wakeUp = lock.newCondition();
    private boolean woken;
    private volatile boolean running = true;
    private final Thread loop;
    private Instant nextPrune = Instant.MIN;

    /**
     * Starts dispatching.
     *
     * @param store            the queue
     * @param providers        routes a device to its provider
     * @param settings         retry policy and request timeout (the lease outlasts a send)
     * @param poll             how often to look for due rows without being woken
     * @param batch            rows claimed (and sent in parallel) at a time
     * @param holder           this node's lease holder name, unique per process
     * @param historyRetention how long history entries are kept
     * @param metrics          counts the outcomes
     * @param clock            the clock
     */
    public PushDispatcher(PushStore store, PushProvider<Device> providers, PushSettings settings, Duration poll,
                          int batch, String holder, Duration historyRetention, PushMetrics metrics, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.providers = Objects.requireNonNull(providers, "providers");
        this.retry = settings.retry();
        // a send ends within its request time (plus connecting); the lease covers a whole batch
        this.lease = settings.requestTimeout().plus(settings.connectTimeout()).multipliedBy(2).plusSeconds(30);
        this.poll = poll;
        this.batch = batch;
        this.holder = holder;
        this.historyRetention = historyRetention;
        this.metrics = metrics;
        this.clock = clock;
        this.loop = Thread.ofVirtual().name("tandem-push-dispatcher").start(this::run);
    }

    /** Looks for due rows now (a send was queued on this node). */
    public void wake() {
        lock.lock();
        try {
            woken = true;
            wakeUp.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        while (running) {
            int claimed = 0;
            try {
                claimed = round();
                prune();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "push dispatch failed; trying again in " + poll,
                        LogText.scrub(e));
            }
            if (claimed < batch) {
                await();
            }
        }
    }

    /** One claim and its sends; the rows claimed. */
    int round() {
        List<PushStore.Claimed> rows = store.claim(holder, batch, lease, clock.instant());
        List<Thread> sends = new ArrayList<>(rows.size());
        for (PushStore.Claimed row : rows) {
            sends.add(Thread.ofVirtual().name("tandem-push-send").start(() -> dispatch(row)));
        }
        for (Thread t : sends) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return rows.size();
            }
        }
        return rows.size();
    }

    private void dispatch(PushStore.Claimed row) {
        try {
            Instant now = clock.instant();
            if (row.device().isEmpty()) {
                finish(row, Optional.empty(), "failed", 0, "the device was removed", false);
                return;
            }
            Device device = row.device().get();
            Notification n = row.notification();
            Duration left = Duration.between(now, row.expiresAt());
            // a ttl of 0 means "now or never": its first send goes out, with TTL 0
            boolean nowOrNever = n.ttl().isZero() && row.attempts() == 1;
            if (left.isNegative() && !nowOrNever) {
                finish(row, Optional.of(device.kind()), "expired", 0, "its time to live ran out before it was sent", false);
                return;
            }
            // a retry asks the push service to keep it only for what is left of its time to live
            Duration ttl = left.isNegative() ? Duration.ZERO
                    : left.compareTo(n.ttl()) < 0 ? left.truncatedTo(java.time.temporal.ChronoUnit.SECONDS) : n.ttl();
            Notification toSend = new Notification(n.title(), n.body(), n.url(), n.tag(), ttl, n.urgency());
            PushOutcome outcome = providers.send(device, toSend);
            Optional<Device.Kind> kind = Optional.of(device.kind());
            switch (outcome) {
                case PushOutcome.Delivered d -> finish(row, kind, "delivered", d.status(), "", false);
                case PushOutcome.Gone g -> finish(row, kind, "gone", g.status(), g.reason(), true);
                case PushOutcome.Rejected r -> finish(row, kind, "rejected", r.status(), r.reason(), false);
                case PushOutcome.RetryLater r -> {
                    Optional<Duration> delay = retry.nextDelay(row.attempts(), r, ThreadLocalRandom.current());
                    if (delay.isEmpty()) {
                        finish(row, kind, "failed", r.status(), r.reason(), false);
                    } else {
                        metrics.sent(device.kind().wire(), "retry");
                        store.retry(row, holder, clock.instant().plus(delay.get()));
                        LOG.log(System.Logger.Level.DEBUG, () -> "push " + row.id() + " to " + device + " retried in "
                                + delay.get() + ": " + r.reason());
                    }
                }
            }
        } catch (RuntimeException e) {
            // the lease runs out and another round takes the row again
            LOG.log(System.Logger.Level.WARNING, "push " + row.id() + " could not be recorded", LogText.scrub(e));
        }
    }

    private void finish(PushStore.Claimed row, Optional<Device.Kind> kind, String outcome, int status, String reason,
                        boolean removeDevice) {
        metrics.sent(kind.map(Device.Kind::wire).orElse("none"), outcome);
        store.finish(row, holder, new PushStore.HistoryEntry(row.tenant(), row.user(), row.deviceId(), kind, outcome,
                status, LogText.safe(reason), row.attempts(), row.notification().title(), clock.instant()), removeDevice);
        if (!outcome.equals("delivered")) {
            LOG.log(System.Logger.Level.INFO, "push " + row.id() + " for user " + LogText.safe(row.user()) + " "
                    + outcome + (status > 0 ? " (HTTP " + status + ")" : "") + (reason.isEmpty() ? "" : ": " + reason));
        }
    }

    private void prune() {
        Instant now = clock.instant();
        if (now.isAfter(nextPrune)) {
            nextPrune = now.plus(Duration.ofHours(1));
            store.pruneHistory(now.minus(historyRetention));
        }
    }

    private void await() {
        lock.lock();
        try {
            if (!woken && running) {
                wakeUp.await(poll.toMillis(), TimeUnit.MILLISECONDS);
            }
            woken = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        } finally {
            lock.unlock();
        }
    }

    /** Stops claiming; sends under way end (or their lease runs out and another node sends them). */
    @Override
    public void close() {
        running = false;
        wake();
        try {
            loop.join(Duration.ofSeconds(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
