package dev.tandem.operations;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.document.DocRef;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.Position;

/**
 * One channel's subscription of a connection, as the broker's subscriber: filters out the user's
 * own signals, checks readability on {@code doc:} channels, keeps the base of the next delta, and
 * for a snapshot (a document, the members) holds publications until the answer is given.
 *
 * <p>Publications reach {@link #deliver} in channel order, one at a time (the brokers' guarantee);
 * the hold is guarded by this object's monitor (no lock object per subscription).
 */
final class Subscription implements Subscriber {
    /** Live publications held while a snapshot is read, at most (the replay comes on top). */
    static final int MAX_HELD = 1024;

    /** A held publication: live ones keep their shared encoding, replayed ones are encoded later. */
    private record Held(Publication publication, Optional<Encoded> frame) {
    }

    final ChannelKey key;
    private final Subscriptions owner;
    private final Optional<DocRef> doc;
    private final boolean delta;
    /**
     * With deltas: the position of the last durable event sent, whose payload the client holds
     * (a delta against it may follow). Written in channel order only.
     */
    private volatile Optional<Position> last = Optional.empty();
    private final List<Held> held;
    /** How many of held are the replay, which the history bounds already. */
    private int replayHeld;
    private volatile boolean holding;
    private volatile boolean revoked;

    Subscription(Subscriptions owner, ChannelKey key, Optional<DocRef> doc, boolean hold, boolean delta) {
        this.owner = owner;
        this.key = key;
        this.doc = doc;
        this.delta = delta;
        this.holding = hold;
        this.held = hold ? new ArrayList<>() : List.of();
    }

    @Override
    public void deliver(Publication p, Encoded frame) {
        if (revoked) {
            return;
        }
        Principal who = owner.principal();
        if (p.position().isEmpty() && p.from().isPresent() && p.from().get().equals(who.user())) {
            return; // typing and cursor signals are for the others
        }
        if (!owner.readable(who, p)) {
            if (doc.isPresent()) {
                revoked = true;
                owner.revoke(this);
            }
            return; // on a type's channels only the document's readers get its changes
        }
        if (holding) {
            synchronized (this) {
                if (holding) {
                    if (held.size() - replayHeld >= MAX_HELD) {
                        holding = false;
                        owner.delivery().overflowed();
                    } else {
                        held.add(new Held(p, Optional.of(frame)));
                    }
                    return;
                }
            }
        }
        if (!live(p, frame)) {
            owner.delivery().overflowed();
        }
    }

    @Override
    public boolean delta() {
        return delta;
    }

    /** Queues a live publication: with deltas, the delta when the client holds its base. */
    private boolean live(Publication p, Encoded frame) {
        if (!delta) {
            return owner.delivery().live(p, frame);
        }
        Encoded mine = frame.forDelta(last);
        if (p.position().isPresent()) {
            last = p.position();
        }
        return owner.delivery().live(p, mine);
    }

    /**
     * Queues a replayed publication. Without deltas the connection's writer encodes it later
     * (this runs under the channel's lock); with deltas it is encoded here, whole, as its text
     * must be, and becomes the base of the next delta.
     */
    boolean replay(Publication p) {
        if (!delta) {
            return owner.delivery().replay(p);
        }
        if (p.position().isPresent()) {
            last = p.position();
        }
        return owner.delivery().live(p, Hub.encodeWhole(owner.codec(), p));
    }

    /** Publications replayed on subscribe wait behind the answer like live ones. */
    synchronized void holdReplay(List<Publication> replay) {
        for (Publication p : replay) {
            held.add(new Held(p, Optional.empty()));
        }
        replayHeld += replay.size();
    }

    /** Gives the answer, then what was held, then lets live publications through. */
    synchronized void release(Runnable answer) {
        answer.run();
        for (Held h : held) {
            boolean queued = h.frame().isPresent() ? live(h.publication(), h.frame().get()) : replay(h.publication());
            if (!queued) {
                owner.delivery().overflowed();
                break;
            }
        }
        held.clear();
        holding = false;
    }
}
