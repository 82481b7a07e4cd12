package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

/**
 * Inbox and acks: the user's own channel ({@code user:{you}}), subscribed after every welcome
 * when {@link TandemClient.Builder#inbox(boolean)} is set, where manual-conflict notices,
 * {@code doc.overwritten} and backend confirmations arrive; its frames are acknowledged once
 * handled, at most one ack per quarter second.
 */
final class Inbox {
    private static final System.Logger LOG = TandemClient.LOG;

    private final TandemClient client;
    private final boolean wanted;
    /** The newest inbox position handled and not yet acknowledged. */
    private final AtomicReference<Position> ackTarget = new AtomicReference<>();
    private final AtomicBoolean ackScheduled = new AtomicBoolean();

    Inbox(TandemClient client, boolean wanted) {
        this.client = client;
        this.wanted = wanted;
    }

    /** After a welcome: subscribes the inbox, and sends an acknowledgement the last connection could not. */
    void connected(ServerFrame.Welcome w) {
        String own = "user:" + w.user();
        if (wanted && !client.subscriptions.has(own)) {
            client.subscribe(own).whenComplete((r, e) -> {
                if (e != null) {
                    LOG.log(Level.WARNING, "subscribing to the inbox {0} failed: {1}", own, e.getMessage());
                }
            });
        }
        if (ackTarget.get() != null && ackScheduled.compareAndSet(false, true)) {
            client.timer.schedule(this::sendAck, 250, TimeUnit.MILLISECONDS);
        }
    }

    /** Whether {@code channel} is the connected user's inbox. */
    boolean isOwn(String channel) {
        return client.connection.currentWelcome().map(w -> channel.equals("user:" + w.user())).orElse(false);
    }

    /** A conflict frame (a durable inbox publication): de-duplicated by offset like an event, then handled and acknowledged. */
    void conflict(ServerFrame.Conflict k) {
        if (!client.subscriptions.accept(k.channel(), k.position())) {
            LOG.log(Level.DEBUG, "dropping duplicate conflict at {0} on {1}", k.position(), k.channel());
            return;
        }
        TandemClient.emit(client.onConflict, k);
        CompletableFuture<Void> handled = client.documents().conflictFrame(k);
        delivered(k.channel(), k.position(), handled);
    }

    /** A durable frame was delivered: acknowledged once {@code handled} completes if it is the own inbox's. */
    void delivered(String channel, Position position, CompletableFuture<?> handled) {
        if (!wanted || !isOwn(channel)) {
            return;
        }
        handled.whenComplete((x, e) -> {
            if (e != null) {
                LOG.log(Level.WARNING, "not acknowledging {0} at {1}: handling failed", channel, position.offset());
                return;
            }
            ackTarget.accumulateAndGet(position, (old, now) -> old == null || !old.epoch().equals(now.epoch())
                    || old.offset() < now.offset() ? now : old);
            if (ackScheduled.compareAndSet(false, true)) {
                client.timer.schedule(this::sendAck, 250, TimeUnit.MILLISECONDS);
            }
        });
    }

    private void sendAck() {
        ackScheduled.set(false);
        Optional<ServerFrame.Welcome> w = client.connection.readyWelcome();
        if (w.isEmpty()) {
            return; // sent after the next welcome
        }
        Position p = ackTarget.getAndSet(null);
        if (p == null) {
            return;
        }
        String channel = "user:" + w.get().user();
        client.request(id -> new ClientFrame.Ack(id, channel, p.offset(), Optional.of(p.epoch())))
                .whenComplete((r, e) -> {
                    if (e != null) {
                        LOG.log(Level.DEBUG, "ack of {0} at {1}: {2}", channel, p.offset(), e.getMessage());
                    }
                });
    }
}
