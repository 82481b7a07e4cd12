package dev.tandem.operations;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelName;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Written;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The document operations as transports call them (the {@code doc.*}, {@code sync} and
 * {@code conflict.*} frames, the REST API), each answering one {@link Result}; who may do what is
 * judged in {@link DocumentOps}. On a node without documents every one is {@code unavailable}.
 */
public final class DocumentOperations {
    private final Parts parts;
    private final Consumer<DocumentListener> listeners;

    DocumentOperations(Parts parts, Consumer<DocumentListener> listeners) {
        this.parts = parts;
        this.listeners = listeners;
    }

    /**
     * Adds a listener told about every committed write (a new version, a manual conflict) after
     * its author was answered and it was published, and about every backend rejection of one
     * after its {@code change.rejected} notice was published, on the writer's thread: it must not block
     * (hand work to its own queue). A listener that throws is logged and changes nothing.
     */
    public void listen(DocumentListener listener) {
        listeners.accept(java.util.Objects.requireNonNull(listener, "listener"));
    }

    /** {@code doc.get}: {@code {"document": …}}; {@code forbidden} when the caller may not read it. */
    public Result get(Principal who, String type, String id) {
        return parts.answer(who, "doc.get", () -> parts.docs().get(who, type, id));
    }

    /** {@code doc.query}: one page and the position of the type's channel for the field. */
    public Result query(Principal who, ClientFrame.DocQuery query) {
        return parts.answer(who, "doc.query", () -> parts.docs().query(who, query));
    }

    /**
     * {@code doc.history} (and the REST history): {@code {docType, docId, entries, next}}, newest
     * version first; {@code forbidden} when the caller may not read the document.
     */
    public Result history(Principal who, String type, String id, int limit, Optional<String> cursor) {
        return parts.answer(who, "doc.history", () -> parts.docs().history(who, type, id, limit, cursor));
    }

    /**
     * {@code doc.update}: the op's result ({@code applied}, {@code merged}, … {@code rejected}),
     * given to {@code answer} before the change is published.
     */
    public void update(Principal who, ClientFrame.DocUpdate update, Consumer<Result> answer) {
        write(who, "doc.update", done -> parts.docs().update(who, update, done), answer);
    }

    /** {@code sync}: {@code {"results": […]}}, one per op, in order, answered before anything is published. */
    public void sync(Principal who, List<ClientFrame.DocUpdate> ops, Consumer<Result> answer) {
        write(who, "sync", done -> parts.docs().sync(who, ops, done), answer);
    }

    /**
     * {@code conflict.resolve}: {@code {result, conflictId, version, document, conflict}},
     * answered before the new version is published.
     */
    public void resolveConflict(Principal who, String conflictId, String resolution, Optional<JsonNode> data,
                                Consumer<Result> answer) {
        write(who, "conflict.resolve", done -> parts.docs().resolve(who, conflictId, resolution, data, done), answer);
    }

    /**
     * Runs a write, answers its author, then publishes what it committed (also when the write
     * failed after committing part of a batch).
     */
    private void write(Principal who, String op, Function<List<Written<?>>, ObjectNode> work, Consumer<Result> answer) {
        List<Written<?>> done = new ArrayList<>();
        answer.accept(parts.answer(who, op, () -> work.apply(done)));
        if (!done.isEmpty()) {
            parts.docs().publish(done);
        }
    }

    /** The tenant's conflicts the caller may resolve, newest first: {@code {"conflicts": […]}}. */
    public Result listConflicts(Principal who, Optional<String> type, Optional<String> status, int limit) {
        return parts.answer(who, "conflicts", () -> parts.docs().listConflicts(who, type, status, limit));
    }

    /** One conflict record. */
    public Result getConflict(Principal who, String conflictId) {
        return parts.answer(who, "conflict", () -> parts.docs().getConflict(who, conflictId));
    }

    /**
     * A user's sync state for a service: {@code {"user","inbox":{"depth","ttl"},"openConflicts"}}
     * (open conflicts counted by the database).
     */
    public Result syncState(Principal service, String user) {
        return parts.answer(service, "sync-state", () -> {
            if (!ChannelName.isValidId(user)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "'user' is not a valid id");
            }
            ObjectNode body = parts.codec().object().put("user", user);
            body.putObject("inbox").put("depth", parts.inbox().depth(service.tenant(), user))
                    .put("ttl", parts.inbox().ttl().toString());
            body.put("openConflicts", parts.docs().openConflicts(service, user));
            return body;
        });
    }
}
