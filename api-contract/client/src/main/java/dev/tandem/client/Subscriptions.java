package dev.tandem.client;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

/**
 * Subscriptions and recovery: the channels subscribed (remembered from successful
 * {@code subscribe} replies, forgotten on {@code unsubscribe}) and the last (epoch, offset)
 * seen on each; durable frames at or below it dropped; every channel resubscribed from its
 * position after a reconnect; a gap the server could not replay, or a new epoch, reported as
 * recovery lost. Internal listeners per channel serve live documents and queries.
 */
final class Subscriptions {
    private static final System.Logger LOG = TandemClient.LOG;

    /** A subscription's flags, repeated when it is resubscribed. */
    private record Sub(boolean presence, boolean snapshot) {
    }

    private final TandemClient client;
    final Positions positions = new Positions();
    /** Whole payloads from delta subscriptions. */
    private final Deltas deltas;
    /** Subscribed channels, each with its flags, to resubscribe after a reconnect. */
    private final Map<String, Sub> channels = new ConcurrentHashMap<>();
    /** Internal listeners per channel (live documents and queries). */
    private final Map<String, List<TandemClient.ChannelListener>> channelListeners = new ConcurrentHashMap<>();

    Subscriptions(TandemClient client) {
        this.client = client;
        this.deltas = new Deltas(client.codec);
    }

    /**
     * Bookkeeping for a request about to be sent: an {@code unsubscribe} forgets the channel at
     * once; a {@code subscribe} is remembered by the returned reply handler.
     */
    Consumer<ServerFrame.Reply> requested(ClientFrame frame) {
        if (frame instanceof ClientFrame.Subscribe s) {
            return r -> subscribed(s, r);
        }
        if (frame instanceof ClientFrame.Unsubscribe u) {
            channels.remove(u.channel());
            positions.forget(u.channel());
            deltas.forget(u.channel());
        }
        return r -> { };
    }

    /** After a welcome: every remembered channel again, from its position. */
    void resubscribeAll() {
        channels.forEach(this::resubscribe);
    }

    /**
     * An event frame: dropped when its offset was seen, else a new epoch is reported, and the
     * event handed to the application, the documents, the channel's listeners and the inbox.
     */
    void event(ServerFrame.Event received) {
        // delta subscriptions: the application gets whole payloads (Deltas)
        ServerFrame.Event e;
        switch (deltas.resolve(received)) {
            case Deltas.Outcome.Whole w -> e = w.event();
            case Deltas.Outcome.Broken b -> {
                recoverDeltas(received.channel(), b.why());
                return;
            }
            case Deltas.Outcome.Dropped d -> {
                return;
            }
        }
        if (e.position().isPresent() && !accept(e.channel(), e.position().get())) {
            LOG.log(Level.DEBUG, "dropping duplicate event at {0} on {1}", e.position().get(), e.channel());
            return;
        }
        TandemClient.emit(client.onEvent, e);
        boolean own = client.inbox.isOwn(e.channel());
        client.documents().event(e, own);
        forChannel(e.channel(), l -> l.event(e));
        e.position().ifPresent(p -> client.inbox.delivered(e.channel(), p, java.util.concurrent.CompletableFuture.completedFuture(null)));
    }

    /** Takes a durable frame's position: false for a duplicate; a new epoch is reported as recovery lost first. */
    boolean accept(String channel, Position position) {
        Optional<Position> before = positions.get(channel);
        if (!positions.accept(channel, position)) {
            return false;
        }
        newEpoch(channel, before, position);
        return true;
    }

    /** Whether the channel is subscribed (or being resubscribed). */
    boolean has(String channel) {
        return channels.containsKey(channel);
    }

    /** Adds an internal listener of a channel; returns its remover. */
    Runnable addChannelListener(String channel, TandemClient.ChannelListener listener) {
        channelListeners.computeIfAbsent(channel, k -> new CopyOnWriteArrayList<>()).add(listener);
        return () -> channelListeners.computeIfPresent(channel, (k, list) -> {
            list.remove(listener);
            return list.isEmpty() ? null : list;
        });
    }

    private void forChannel(String channel, Consumer<TandemClient.ChannelListener> call) {
        List<TandemClient.ChannelListener> list = channelListeners.get(channel);
        if (list != null) {
            for (TandemClient.ChannelListener l : list) {
                TandemClient.emit(call, l);
            }
        }
    }

    private void resubscribe(String channel, Sub sub) {
        Optional<Position> since = positions.get(channel);
        client.request(id -> new ClientFrame.Subscribe(id, channel, since, sub.presence(), sub.snapshot(),
                deltas.format(channel)))
                .whenComplete((r, e) -> {
                    if (e instanceof TandemClientException t && t.code().isPresent() && !t.code().get().isTransient()) {
                        LOG.log(Level.WARNING, "resubscribing to {0} failed, dropping it: {1}", channel, t.getMessage());
                        channels.remove(channel);
                        positions.forget(channel);
                        forChannel(channel, l -> l.ended(t));
                        TandemClient.emit(client.onError, new ServerFrame.Error(0, t.code().get(),
                                "resubscribing to " + channel + " failed: " + t.getMessage()));
                    }
                });
    }

    private void subscribed(ClientFrame.Subscribe s, ServerFrame.Reply r) {
        ObjectNode body = r.body();
        JsonNode epoch = body.path("epoch");
        JsonNode offset = body.path("offset");
        boolean inboxReplay = s.since().isEmpty() && body.path("inbox").asLong(0) > 0;
        if (inboxReplay) {
            // the own inbox: its unacknowledged messages (at or below the top) follow this
            // reply; holding no position yet lets them in, and they set it
            LOG.log(Level.DEBUG, "{0}: {1} unacknowledged messages follow", s.channel(), body.path("inbox").asLong());
        } else if (epoch.isTextual() && !epoch.textValue().isEmpty()
                && offset.isIntegralNumber() && offset.canConvertToLong() && offset.longValue() >= 0) {
            positions.top(s.channel(), new Position(epoch.textValue(), offset.longValue()),
                    body.path("recovered").asBoolean(false));
        }
        channels.put(s.channel(), new Sub(s.presence(), s.snapshot()));
        deltas.subscribed(s.channel(), s.delta());
        forChannel(s.channel(), l -> l.subscribed(r));
        if (s.since().isPresent() && !body.path("recovered").asBoolean(false)) {
            // the server could not replay the gap (too old, or the history was lost and the
            // channel is in a new epoch): the app must re-read state instead of trusting the stream
            if (epoch.isTextual() && !epoch.textValue().isEmpty() && offset.canConvertToLong()) {
                recoveryLost(s.channel(), new Position(epoch.textValue(), offset.longValue()));
            } else {
                LOG.log(Level.WARNING, "{0}: missed events could not be recovered (the reply names no position)",
                        s.channel());
            }
        }
    }

    /**
     * A delta subscription's chain broke ({@link Deltas}): unsubscribes and subscribes again from
     * the last position whose payload was handed on, keeping the channel's flags and position.
     */
    private void recoverDeltas(String channel, String why) {
        LOG.log(Level.INFO, "{0}: delta chain broken ({1}); resubscribing from {2}", channel, why,
                positions.get(channel).map(Position::toString).orElse("the top"));
        Sub sub = channels.get(channel);
        if (sub == null) {
            return; // not subscribed
        }
        // the unsubscribe goes around the request bookkeeping, which would forget the position
        if (client.connection.sendUntracked(id -> new ClientFrame.Unsubscribe(id, channel))) {
            resubscribe(channel, sub);
        } // else not connected: the reconnect resubscribes
    }

    /**
     * A live event or conflict in another epoch than the position held for its channel: the
     * server lost the channel's history (e.g. Redis restarted without persistence) while this
     * connection stayed up, so what was published before {@code now} may never arrive. Reported
     * like a gap the server could not replay, before {@code now} itself is delivered.
     */
    private void newEpoch(String channel, Optional<Position> before, Position now) {
        if (before.isPresent() && !before.get().epoch().equals(now.epoch())) {
            LOG.log(Level.INFO, "{0} moved from epoch {1} to {2}", channel, before.get().epoch(), now.epoch());
            recoveryLost(channel, now);
        }
    }

    /** Tells the application and the live views of a channel that missed events are gone. */
    private void recoveryLost(String channel, Position top) {
        LOG.log(Level.INFO, "{0}: missed events could not be recovered", channel);
        try {
            client.onRecoveryLost.accept(channel, top);
        } catch (RuntimeException ex) {
            LOG.log(Level.WARNING, "onRecoveryLost listener failed", ex);
        }
        forChannel(channel, l -> l.recoveryLost(top));
    }
}
