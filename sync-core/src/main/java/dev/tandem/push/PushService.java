package dev.tandem.push;

import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The push operations, whatever transport asks: a user registers, lists and removes their own
 * devices; a service of the tenant lists and removes any user's, reads a user's push history and
 * notifies a user, which queues one send per device unless the {@link When} says not to (by
 * default only when the user is not connected to any node). The sends themselves are the
 * {@link PushDispatcher}'s.
 */
public final class PushService {
    /** Most history entries one read answers. */
    public static final int MAX_HISTORY = 500;

    private final PushStore store;
    private final PushProviders providers;
    private final EndpointAllowList endpoints;
    private final Online online;
    private final int maxDevicesPerUser;
    private final Optional<String> vapidPublicKey;
    private final Runnable queued;
    private final Clock clock;

    /** Whether a user has a live connection anywhere in the cluster. */
    @FunctionalInterface
    public interface Online {
        /** Whether the user of the tenant is connected now. */
        boolean online(String tenant, String user);
    }

    /** When a send to a user is pushed to the user's devices. */
    public enum When {
        /** Only when the user has no live connection (the default). */
        OFFLINE,
        /** Always, connected or not. */
        ALWAYS,
        /** Never. */
        NEVER;

        /** The wire name ({@code offline}, {@code always}, {@code never}). */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The value of a wire name. */
        public static When fromWire(String wire) {
            for (When w : values()) {
                if (w.wire().equals(wire)) {
                    return w;
                }
            }
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "push.when must be offline, always or never");
        }
    }

    /**
     * The operations on a store.
     *
     * @param store             devices, queue and history
     * @param providers         which kinds can be reached from this node
     * @param endpoints         the Web Push endpoint allow-list
     * @param online            the cluster's knowledge of live connections
     * @param maxDevicesPerUser devices one user may register
     * @param vapidPublicKey    the VAPID public key, when Web Push is on
     * @param queued            told when sends were queued (wakes the dispatcher)
     * @param clock             the clock
     */
    public PushService(PushStore store, PushProviders providers, EndpointAllowList endpoints, Online online,
                       int maxDevicesPerUser, Optional<String> vapidPublicKey, Runnable queued, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.providers = Objects.requireNonNull(providers, "providers");
        this.endpoints = Objects.requireNonNull(endpoints, "endpoints");
        this.online = Objects.requireNonNull(online, "online");
        if (maxDevicesPerUser < 1) {
            throw new IllegalArgumentException("tandem.push.max-devices-per-user must be at least 1");
        }
        this.maxDevicesPerUser = maxDevicesPerUser;
        this.vapidPublicKey = Objects.requireNonNull(vapidPublicKey, "vapidPublicKey");
        this.queued = Objects.requireNonNull(queued, "queued");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Registers a device of the caller (a user, never on behalf of another).
     *
     * @throws ProtocolException {@code BAD_REQUEST} for an endpoint off the allow-list or a kind
     *                           this node cannot reach, {@code LIMIT_EXCEEDED} past the bound
     */
    public PushStore.Registered register(Principal user, Device device) {
        if (device instanceof Device.WebPush w) {
            endpoints.refusal(w.endpoint()).ifPresent(reason -> {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, reason);
            });
        }
        if (!providers.supports(device.kind())) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, device.kind().wire() + " push is not configured on this node");
        }
        return store.register(user.tenant(), user.user(), device, maxDevicesPerUser, clock.instant());
    }

    /** The devices of {@code user} in the caller's tenant. */
    public List<PushStore.Registered> devices(Principal caller, String user) {
        return store.devices(caller.tenant(), user);
    }

    /**
     * Removes a device: the caller's own, or any of the tenant's when {@code service}.
     *
     * @throws ProtocolException {@code NOT_FOUND} when there is no such device the caller may remove
     */
    public void remove(Principal caller, boolean service, String id) {
        Optional<PushStore.Registered> d = store.device(caller.tenant(), id);
        if (d.isEmpty() || (!service && !d.get().user().equals(caller.user())) || !store.remove(caller.tenant(), id)) {
            throw new ProtocolException(ErrorCode.NOT_FOUND, "no such device");
        }
    }

    /** The user's latest finished sends, newest first. */
    public List<PushStore.HistoryEntry> history(Principal service, String user, int limit) {
        if (limit < 1 || limit > MAX_HISTORY) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "limit must be 1-" + MAX_HISTORY);
        }
        return store.history(service.tenant(), user, limit);
    }

    /**
     * Notifies a user of the caller's tenant.
     *
     * @return the sends queued: one per device, 0 when the user is connected (for {@link When#OFFLINE})
     *         or has no device
     */
    public int notify(Principal service, String user, Notification notification, When when) {
        return notifyUser(service.tenant(), user, notification, when);
    }

    /** Notifies a user of the tenant on the node's own behalf (its durable notices); as {@link #notify}. */
    public int notifyUser(String tenant, String user, Notification notification, When when) {
        boolean push = switch (when) {
            case NEVER -> false;
            case ALWAYS -> true;
            case OFFLINE -> !online.online(tenant, user);
        };
        if (!push) {
            return 0;
        }
        int n = store.enqueue(tenant, user, notification, clock.instant());
        if (n > 0) {
            queued.run();
        }
        return n;
    }

    /** The VAPID public key browsers subscribe with, when Web Push is on. */
    public Optional<String> vapidPublicKey() {
        return vapidPublicKey;
    }
}
