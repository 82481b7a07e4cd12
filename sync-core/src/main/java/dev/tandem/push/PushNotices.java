package dev.tandem.push;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Rejection;
import dev.tandem.telemetry.LogText;

/**
 * Pushes the durable notices the gateway makes itself, for the kinds configured in
 * {@code tandem.push.notices}: {@code conflict} (a manual conflict, to its author) and
 * {@code overwritten} (a value a user wrote was overwritten by a concurrent change, to that user)
 * and {@code rejected} (a backend rejected a committed change, to its author), each only when the user is not connected, like a send's default. The in-app notice on the user's
 * {@code user:} channel is the durable one; its push is queued after the change committed, off the
 * writer's thread, and is lost if the node stops in between.
 */
public final class PushNotices implements DocumentListener {
    private static final System.Logger LOG = System.getLogger(PushNotices.class.getName());

    /** The kinds of notice that can be pushed. */
    public enum Kind {
        /** A manual conflict, to its author. */
        CONFLICT,
        /** A value overwritten by a concurrent change, to the user who wrote it. */
        OVERWRITTEN,
        /** A backend's rejection of a committed change, to its author. */
        REJECTED;

        /** The kind of a configured name. */
        public static Kind fromConfig(String name) {
            try {
                return valueOf(name.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tandem.push.notices: '" + name + "' is not conflict, overwritten or rejected");
            }
        }
    }

    private final PushService push;
    private final Set<Kind> kinds;
    private final Duration ttl;

    /**
     * Pushes these kinds of notice.
     *
     * @param push  queues the sends
     * @param kinds the kinds pushed
     * @param ttl   how long a notice's push is kept for an offline device
     */
    public PushNotices(PushService push, Set<Kind> kinds, Duration ttl) {
        this.push = Objects.requireNonNull(push, "push");
        this.kinds = Set.copyOf(kinds);
        this.ttl = Objects.requireNonNull(ttl, "ttl");
    }

    @Override
    public void changed(DocumentChange change) {
        if (!kinds.contains(Kind.OVERWRITTEN) || change.overwritten().isEmpty()) {
            return;
        }
        var doc = change.document();
        for (DocumentChange.Overwrite o : change.overwritten()) {
            queue(change.tenant(), o.user(), "Your change was overwritten",
                    String.join(", ", o.fields()) + " of " + doc.ref().type() + " " + doc.ref().id()
                            + " changed at the same time by " + doc.updatedBy(),
                    "overwritten-" + doc.ref().type() + "-" + doc.ref().id());
        }
    }

    @Override
    public void conflicted(ConflictRecord conflict) {
        if (kinds.contains(Kind.CONFLICT)) {
            queue(conflict.tenant(), conflict.author(), "Your change needs a decision",
                    "It conflicts with another change of " + conflict.ref().type() + " " + conflict.ref().id(),
                    "conflict-" + conflict.id());
        }
    }

    @Override
    public void rejected(Rejection r) {
        if (kinds.contains(Kind.REJECTED)) {
            queue(r.tenant(), r.author(), "Your change was rejected", r.ref().type() + " " + r.ref().id()
                            + r.reason().map(reason -> ": " + reason).orElse("")
                            + (r.revert().isPresent() ? " (undone)" : ""),
                    "rejected-" + r.ref().type() + "-" + r.ref().id());
        }
    }

    private void queue(String tenant, String user, String title, String body, String tag) {
        // the store and presence are network calls: not on the writer's thread
        Thread.ofVirtual().name("tandem-push-notice").start(() -> {
            try {
                Notification n = new Notification(title, cut(body, Notification.MAX_BODY), Optional.empty(),
                        Optional.of(cut(tag.replaceAll("[^A-Za-z0-9._:\\-]", "_"), Notification.MAX_TAG)), ttl,
                        Notification.Urgency.NORMAL);
                push.notifyUser(tenant, user, n, PushService.When.OFFLINE);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "the push of a notice to user " + LogText.safe(user)
                        + " was not queued: " + LogText.safe(String.valueOf(e.getMessage())));
            }
        });
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max);
    }
}
