package dev.tandem.push;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Where devices, queued sends and their history are kept: the registry of each user's devices
 * (bounded per user, scoped by tenant) and a durable queue with one row per notification and
 * device. A row is sent by the one node that claimed it: {@link #claim} leases rows and commits
 * before any push service is called, {@link #finish} and {@link #retry} record what became of the
 * send only while the caller still holds the lease. A node that stops while holding a lease leaves
 * the row to be claimed again once the lease has run out.
 *
 * <p>Implementations are thread-safe and blocking; their failures are {@code UNAVAILABLE}
 * {@link dev.tandem.protocol.ProtocolException}s.
 */
public interface PushStore extends AutoCloseable {
    /**
     * A registered device.
     *
     * @param id        the device id (opaque)
     * @param tenant    the tenant
     * @param user      the user it reaches
     * @param device    the address
     * @param createdAt when it was registered (or last registered again)
     */
    record Registered(String id, String tenant, String user, Device device, Instant createdAt) {
        /** Checks the fields. */
        public Registered {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(tenant, "tenant");
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    /**
     * A claimed queue row: one notification for one device.
     *
     * @param id           the row
     * @param tenant       the tenant
     * @param user         the user
     * @param deviceId     the device's id
     * @param device       the device, empty when it was removed since the row was queued
     * @param notification what to show
     * @param attempts     sends started so far, this one included
     * @param expiresAt    after this the notification is dropped unsent (its time to live)
     */
    record Claimed(long id, String tenant, String user, String deviceId, Optional<Device> device,
                   Notification notification, int attempts, Instant expiresAt) {
    }

    /**
     * One finished send, as the history shows it.
     *
     * @param tenant   the tenant
     * @param user     the user
     * @param deviceId the device
     * @param kind     the device's kind (its provider), empty when the device was gone before sending
     * @param outcome  {@code delivered}, {@code gone}, {@code rejected}, {@code failed} (retries used up)
     *                 or {@code expired} (time to live over before it could be sent)
     * @param status   the push service's HTTP status, 0 when none
     * @param reason   why, bounded (never a token or key)
     * @param attempts sends made
     * @param title    the notification's title
     * @param at       when it finished
     */
    record HistoryEntry(String tenant, String user, String deviceId, Optional<Device.Kind> kind, String outcome,
                        int status, String reason, int attempts, String title, Instant at) {
    }

    /**
     * Registers a device for the user, or answers the one already registered with the same address
     * in the tenant (registered again: moved to this user when another user had it).
     *
     * @throws dev.tandem.protocol.ProtocolException {@code LIMIT_EXCEEDED} when the user already
     *                                               has {@code maxPerUser} other devices
     */
    Registered register(String tenant, String user, Device device, int maxPerUser, Instant now);

    /** The user's devices, oldest first. */
    List<Registered> devices(String tenant, String user);

    /** A device of the tenant. */
    Optional<Registered> device(String tenant, String id);

    /** Removes a device of the tenant and whatever is queued for it; whether there was one. */
    boolean remove(String tenant, String id);

    /**
     * Queues the notification for every device of the user, in one transaction.
     *
     * @return the rows queued (the user's devices)
     */
    int enqueue(String tenant, String user, Notification notification, Instant now);

    /** Leases up to {@code max} rows that are due and not leased by another node, committed before it returns. */
    List<Claimed> claim(String holder, int max, Duration lease, Instant now);

    /**
     * Ends a claimed row: deletes it, appends the history entry and, when {@code removeDevice},
     * removes the device (and its other rows); nothing when the lease was lost meanwhile.
     */
    void finish(Claimed row, String holder, HistoryEntry entry, boolean removeDevice);

    /** Puts a claimed row back, due at {@code dueAt}; nothing when the lease was lost meanwhile. */
    void retry(Claimed row, String holder, Instant dueAt);

    /** The user's latest finished sends, newest first. */
    List<HistoryEntry> history(String tenant, String user, int limit);

    /** Rows waiting to be sent. */
    long backlog();

    /** Drops history entries older than {@code before}. */
    void pruneHistory(Instant before);

    @Override
    void close();
}
