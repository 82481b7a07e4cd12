package dev.tandem.operations;

import java.util.Optional;
import java.util.concurrent.locks.Lock;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.channel.ChannelRules;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.hub.Publication;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.FrameCodec;

/**
 * Publishes for the layer: durable publications (those to a {@code user:} channel also kept in
 * the user's inbox, appended in offset order), presence changes, and what the document store
 * commits: every change to the document's channels (a deletion with the data it deleted), every manual conflict to its author's inbox
 * (delivered as a {@code conflict} frame), and to each user whose value a concurrent change
 * overwrote a durable {@code doc.overwritten} event on their inbox.
 */
final class Publisher implements DocumentListener {
    private static final System.Logger LOG = System.getLogger(Publisher.class.getName());

    /** The event type of the notice to a user whose value a concurrent change overwrote. */
    static final String OVERWRITTEN_TYPE = "doc.overwritten";

    /** The key of a {@code doc.deleted} event's data just before the delete. */
    static final String BEFORE = "before";

    private final Broker broker;
    private final Inbox inbox;
    private final ChannelRules rules;
    private final FrameCodec codec;
    private final Background background;

    Publisher(Broker broker, Inbox inbox, ChannelRules rules, FrameCodec codec, Background background) {
        this.broker = broker;
        this.inbox = inbox;
        this.rules = rules;
        this.codec = codec;
        this.background = background;
    }

    /**
     * Publishes through the broker and, for {@code user:} channels, keeps the publication in the
     * user's inbox until acknowledged.
     */
    Publication publish(ChannelKey key, Draft draft) {
        if (draft.ephemeral() || !key.namespace().equals(Inbox.NAMESPACE)) {
            return broker.publish(key, draft);
        }
        // offset and inbox append as one step per user channel: an inbox ignores an offset that
        // arrives after a newer one, so two publishers must not interleave here
        Lock order = inbox.orderLock(key);
        order.lock();
        try {
            Publication p = broker.publish(key, draft);
            if (p.position().isPresent()) {
                inbox.append(key, p);
            }
            return p;
        } finally {
            order.unlock();
        }
    }

    /** Publishes a presence change (join, leave, state) to the channel's subscribers on every node. */
    void presence(ChannelKey key, String kind, ObjectNode data) {
        broker.publish(key, new Draft(Publication.PRESENCE_TYPE + kind, data, true, Optional.empty(), Optional.empty()));
    }

    @Override
    public void changed(DocumentChange change) {
        var doc = change.document();
        for (ChannelName name : change.channels()) {
            ChannelKey key;
            try {
                key = rules.resolve(change.tenant(), name.toString());
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "tenant " + change.tenant() + ": change of " + doc.ref()
                        + " names channel " + name + ", which is not valid: " + e.getMessage());
                continue;
            }
            publishCommitted(key, new Draft(change.eventType(), event(change), false,
                    Optional.of("doc-" + doc.ref().type() + "-" + doc.ref().id() + "-v" + doc.version()),
                    Optional.of(doc.updatedBy())));
        }
        for (DocumentChange.Overwrite o : change.overwritten()) {
            ObjectNode body = codec.object().put("docType", doc.ref().type()).put("docId", doc.ref().id())
                    .put("version", doc.version()).put("by", doc.updatedBy());
            change.opId().ifPresent(op -> body.put("opId", op));
            change.strategy().ifPresent(s -> body.put("strategy", s.wire()));
            o.fields().forEach(body.putArray("fields")::add);
            body.set("lost", o.lost());
            body.set("winning", o.winning());
            publishCommitted(Inbox.channel(change.tenant(), o.user()), new Draft(OVERWRITTEN_TYPE, body, false,
                    Optional.of("overwritten-" + doc.ref().type() + "-" + doc.ref().id() + "-v" + doc.version() + "-"
                            + o.user()), Optional.empty()));
        }
    }

    /**
     * A change's event data: the document; a deletion also carries {@value #BEFORE}, the data it
     * deleted, because its readers are judged by that (the tombstone has none) on every node.
     */
    static ObjectNode event(DocumentChange change) {
        ObjectNode data = change.document().toJson();
        if (change.document().deleted()) {
            change.previous().ifPresent(before -> data.set(BEFORE, before));
        }
        return data;
    }

    @Override
    public void conflicted(ConflictRecord record) {
        // durable on the author's user channel: every device gets it, now or when it subscribes
        publishCommitted(Inbox.channel(record.tenant(), record.author()), new Draft(Publication.CONFLICT_TYPE,
                record.toJson(), false, Optional.of("conflict-" + record.id()), Optional.empty()));
    }

    /**
     * Publishes what the store committed already; a broker outage is retried in the background
     * (not for ever). The draft's event id makes a retry publish it once.
     */
    private void publishCommitted(ChannelKey key, Draft draft) {
        try {
            publish(key, draft);
        } catch (RuntimeException e) {
            background.run(() -> retry(key, draft, e));
        }
    }

    private void retry(ChannelKey key, Draft draft, RuntimeException first) {
        long pause = 200;
        for (int attempt = 1; attempt <= 8; attempt++) {
            try {
                Thread.sleep(pause);
                publish(key, draft);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (RuntimeException e) {
                pause = Math.min(10_000, pause * 2);
            }
        }
        LOG.log(System.Logger.Level.ERROR, "a committed document change could not be published to " + key
                + " (clients re-read with doc.get): " + first.getMessage());
    }
}
