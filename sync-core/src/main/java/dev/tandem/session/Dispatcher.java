package dev.tandem.session;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import dev.tandem.auth.Principal;
import dev.tandem.operations.Channels;
import dev.tandem.operations.DocumentOperations;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Presences;
import dev.tandem.operations.Result;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * The one table from client frames to operations, whatever carried the frame: a WebSocket
 * message, or an event stream's POST (with or without its stream on this node). Frames about a
 * connection ({@code connect}, {@code refresh}, {@code subscribe}, {@code unsubscribe}, setting a
 * presence state) go to the session they came on; a request that stands apart from its
 * connection gets {@code bad_request} for them. Everything else is one operation call.
 */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger(Dispatcher.class.getName());

    private final Channels channels;
    private final Presences presence;
    private final DocumentOperations documents;
    private final SessionLimits limits;
    private final Telemetry telemetry;

    Dispatcher(Operations ops, SessionLimits limits, Telemetry telemetry) {
        this.channels = ops.channels();
        this.presence = ops.presence();
        this.documents = ops.documents();
        this.limits = limits;
        this.telemetry = telemetry;
    }

    /**
     * Runs one client frame like {@link #dispatch}, answering a refusal as a failure too: a
     * {@link ProtocolException} with its code, anything else as {@code internal} after it was
     * logged with its context.
     */
    void run(Principal who, ClientFrame frame, Session on, BooleanSupplier ephemeral, Consumer<Result> answer) {
        try {
            dispatch(who, frame, on, ephemeral, answer);
        } catch (ProtocolException e) {
            telemetry.error(e.code());
            answer.accept(Result.failed(e));
        } catch (RuntimeException e) {
            String where = (on == null ? "request" : "session " + on.id()) + " ("
                    + (who == null ? "unauthenticated" : "tenant=" + who.tenant() + " user=" + who.user()) + ")";
            LOG.log(System.Logger.Level.ERROR, where + ": " + frame.op() + " failed", LogText.scrub(e));
            telemetry.error(ErrorCode.INTERNAL);
            answer.accept(new Result.Failed(ErrorCode.INTERNAL, "internal error; see the server log"
                    + (on == null ? "" : " for session " + on.id())));
        }
    }

    /**
     * Runs one client frame. The answer is given to {@code answer} once (for a {@code subscribe},
     * possibly later, in order with the channel's events); a {@code connect} is answered by its
     * session (a welcome, or a refusal and the close).
     *
     * @param who       who sent it (null only for a {@code connect} on an unauthenticated socket)
     * @param on        the connection the frame came on, or null for a request standing apart from it
     * @param ephemeral charges one typing or cursor signal to the sender's budget; false when over it
     * @throws ProtocolException for a frame refused before any operation ran
     */
    void dispatch(Principal who, ClientFrame frame, Session on, BooleanSupplier ephemeral, Consumer<Result> answer) {
        switch (frame) {
            case ClientFrame.Connect c -> connection(on, c).connect(c);
            case ClientFrame.Refresh r -> answer.accept(connection(on, r).refresh(r));
            case ClientFrame.Subscribe s -> connection(on, s).subscriptions().subscribe(s, answer);
            case ClientFrame.Unsubscribe u -> answer.accept(connection(on, u).subscriptions().unsubscribe(u.channel()));
            case ClientFrame.Presence p when p.state().isPresent() -> {
                if (on == null) {
                    throw new ProtocolException(ErrorCode.BAD_REQUEST,
                            "a presence state belongs to a connection: set it over the WebSocket");
                }
                answer.accept(on.subscriptions().presenceState(p.channel(), p.state().get()));
            }
            case ClientFrame.Presence p -> answer.accept(presence.members(who, p.channel()));
            case ClientFrame.Publish p -> {
                if (p.ephemeral() && !ephemeral.getAsBoolean()) {
                    throw new ProtocolException(ErrorCode.RATE_LIMITED, "more than " + limits.ephemeralPerSecond()
                            + " typing/cursor signals per second");
                }
                answer.accept(channels.publish(who, p));
            }
            case ClientFrame.Ping p -> answer.accept(Result.ok());
            case ClientFrame.Ack a -> answer.accept(channels.ack(who, a));
            case ClientFrame.DocGet g -> answer.accept(documents.get(who, g.docType(), g.docId()));
            case ClientFrame.DocQuery q -> answer.accept(documents.query(who, q));
            case ClientFrame.DocHistory h -> answer.accept(documents.history(who, h.docType(), h.docId(), h.limit(),
                    h.cursor()));
            // writes answer their author before they publish
            case ClientFrame.DocUpdate u -> documents.update(who, u, answer);
            case ClientFrame.Sync s -> documents.sync(who, s.ops(), answer);
            case ClientFrame.ConflictResolve r -> documents.resolveConflict(who, r.conflictId(), r.resolution(),
                    r.data(), answer);
        }
    }

    private static Session connection(Session on, ClientFrame frame) {
        if (on == null) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, frame.op() + " is about a connection: for a stream, "
                    + "name its channels in the stream's URL");
        }
        return on;
    }
}
