package dev.tandem.operations;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Broker;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.channel.ChannelRules;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentAccess;
import dev.tandem.document.DocumentAccess.Right;
import dev.tandem.document.DocumentAccess.Subject;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.HeldInBatch;
import dev.tandem.document.History;
import dev.tandem.document.Documents;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ProtocolException;

/**
 * The document operations with their authorization: every read is judged by
 * {@link DocumentAccess} against the document as stored (a missing document as the empty one, so
 * a refusal never tells whether it exists), every write through the {@link WriteGuard} the store
 * asks before its transaction (the stored and the resulting data), then the backend's
 * {@link Hooks#documentWrite}; a resolution is a write too (the resolve right, then write or
 * create on what it writes). Service principals act for their tenant and pass the rules (not the
 * hooks). Refused reads and resolutions are {@code forbidden}; refused writes are
 * {@code rejected} with code {@code forbidden}, nothing written and the opId unspent. Writes add
 * what they committed to the caller's list, which is published ({@link #publish}) once the author
 * has been answered.
 */
final class DocumentOps {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]+)}");

    private final Documents documents;
    private final DocumentAccess access;
    private final Hooks hooks;
    private final Broker broker;
    private final ChannelRules rules;
    private final FrameCodec codec;
    private final OperationLimits limits;
    private final UserRates rates;
    private final String serviceRole;
    private final DocumentListener committed;
    private final Readers readers;
    private final Cursors cursors;

    DocumentOps(Documents documents, DocumentAccess access, Hooks hooks, Broker broker, ChannelRules rules,
                FrameCodec codec, OperationLimits limits, String serviceRole, DocumentListener committed,
                Cursors cursors) {
        this.documents = documents;
        this.access = access;
        this.hooks = hooks;
        this.broker = broker;
        this.rules = rules;
        this.codec = codec;
        this.limits = limits;
        this.rates = new UserRates(limits.documentOpsPerSecond(), limits.documentOpsBurst());
        this.serviceRole = serviceRole;
        this.committed = committed;
        this.readers = new Readers(access);
        this.cursors = cursors;
    }

    // ------------------------------------------------------------------ reads

    /** {@code {"document": …}}. */
    ObjectNode get(Principal who, String type, String id) {
        DocRef ref = ref(type, id);
        Optional<Document> doc = readable(who, ref);
        return codec.object().set("document", doc.orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND,
                "no document " + ref.type() + "/" + ref.id())).toJson());
    }

    /**
     * The document if the caller may read it; empty when it does not exist (and the rules let the
     * caller read a document that does not exist).
     *
     * @throws ProtocolException {@code FORBIDDEN} when the caller may not read it
     */
    Optional<Document> readable(Principal who, DocRef ref) {
        Optional<Document> doc = documents.get(who, ref);
        Subject subject = doc.map(Subject::of).orElseGet(Subject::none);
        if (!service(who) && !access.allows(who, ref.type(), Right.READ, subject)) {
            throw refused(Right.READ, ref);
        }
        return doc;
    }

    /**
     * Whether the caller may read the version a {@code doc.changed} publication carries, or the
     * one a {@code doc.deleted} publication deleted (judged once per publication, see {@link Readers}).
     */
    boolean mayRead(Principal who, Publication p) {
        return service(who) || readers.admit(who, p);
    }

    /**
     * One page of {@code doc.query}, with the position of the type's channel for that field read
     * before the query: {@code {docType, documents, next, channel, epoch, offset}}.
     */
    ObjectNode query(Principal who, ClientFrame.DocQuery q) {
        if (!DocRef.isValid(q.docType(), "x")) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "invalid document type");
        }
        // a cursor is good for the query it came from only, and says nothing about where it points
        String scope = "doc.query\n" + who.tenant() + "\n" + q.docType() + "\n" + q.field() + "\n" + q.value();
        DocumentQuery query;
        try {
            query = new DocumentQuery(q.docType(), q.field(), q.value(), q.limit(),
                    q.after().map(c -> cursors.open(scope, c)));
        } catch (IllegalArgumentException e) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, e.getMessage());
        }
        Optional<ChannelKey> channel = channelFor(who.tenant(), q.docType(), q.field(), q.value());
        // the position first: whatever changes after it is published after it
        Optional<Position> position = channel.map(broker::top);
        DocumentQuery.Page page = documents.query(who, query);
        ObjectNode body = codec.object().put("docType", q.docType());
        ArrayNode list = body.putArray("documents");
        for (Document d : page.documents()) {
            if (service(who) || access.allows(who, d.ref().type(), Right.READ, Subject.of(d))) {
                list.add(d.toJson());
            }
        }
        if (page.next().isPresent()) {
            body.put("next", cursors.seal(scope, page.next().get()));
        } else {
            body.putNull("next");
        }
        if (channel.isPresent()) {
            body.put("channel", channel.get().name().toString());
            body.put("epoch", position.orElseThrow().epoch()).put("offset", position.get().offset());
        } else {
            body.putNull("channel");
        }
        return body;
    }

    /**
     * A page of the document's history for a caller who may read it: {@code {docType, docId,
     * entries: [{version, document, audit}], next}}. For a user, a version (and its audit entries)
     * whose data the user may not read is left out, so an earlier life of the document elsewhere
     * stays hidden; services see everything.
     */
    ObjectNode history(Principal who, String type, String id, int limit, Optional<String> cursor) {
        DocRef ref = ref(type, id);
        if (limit < 1 || limit > History.MAX_LIMIT) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "limit must be 1-" + History.MAX_LIMIT);
        }
        Optional<Document> head = readable(who, ref);
        if (head.isEmpty()) {
            throw new ProtocolException(ErrorCode.NOT_FOUND, "no document " + ref.type() + "/" + ref.id());
        }
        String scope = "doc.history\n" + who.tenant() + "\n" + ref.type() + "\n" + ref.id();
        Optional<Long> before = cursor.map(c -> {
            try {
                return Long.parseLong(cursors.open(scope, c));
            } catch (NumberFormatException e) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "invalid cursor");
            }
        });
        History.Page page = documents.history(who, ref, new History.Query(limit, before));
        ObjectNode body = codec.object().put("docType", ref.type()).put("docId", ref.id());
        ArrayNode entries = body.putArray("entries");
        String author = head.get().createdBy();
        for (History.Step step : page.steps()) {
            if (service(who) || readableStep(who, ref.type(), author, step)) {
                entries.add(step.toJson());
            }
        }
        if (page.next().isPresent()) {
            body.put("next", cursors.seal(scope, Long.toString(page.next().get())));
        } else {
            body.putNull("next");
        }
        return body;
    }

    /** Whether every piece of data a history step shows is readable for the user. */
    private boolean readableStep(Principal who, String type, String author, History.Step step) {
        if (step.document().isPresent() && !step.document().get().deleted()
                && !access.allows(who, type, Right.READ, Subject.of(step.document().get()))) {
            return false;
        }
        for (var entry : step.audit()) {
            for (JsonNode data : List.of(entry.before(), entry.after())) {
                if (data.isObject() && !access.allows(who, type, Right.READ, new Subject(Optional.of(author), data))) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * The type's publication channel whose template has exactly the queried field as its only
     * placeholder, filled with the value ({@code location:{locationId}} with {@code wh-7}).
     */
    private Optional<ChannelKey> channelFor(String tenant, String type, String field, JsonNode value) {
        if (!(value.isTextual() || value.isIntegralNumber()) || !ChannelName.isValidId(value.asText())) {
            return Optional.empty();
        }
        for (String template : documents.channelTemplates(type)) {
            Matcher m = PLACEHOLDER.matcher(template);
            List<String> names = new ArrayList<>();
            while (m.find()) {
                names.add(m.group(1));
            }
            if (names.equals(List.of(field))) {
                try {
                    return Optional.of(rules.resolve(tenant, template.replace("{" + field + "}", value.asText())));
                } catch (ProtocolException e) {
                    return Optional.empty();
                }
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------ writes

    /** {@code doc.update}: the op's result ({@link OpResult#toJson()}); what it committed is added to {@code done}. */
    ObjectNode update(Principal who, ClientFrame.DocUpdate frame, List<Written<?>> done) {
        DocOp op = DocOp.from(frame);
        charge(who, 1);
        return written(documents.write(who, op, guard(who)), done).toJson();
    }

    /**
     * {@code sync}: {@code {"results": [one per op, in order]}}; an op that does not decode is
     * rejected in place. What each op committed is added to {@code done}, also when a later op fails.
     */
    ObjectNode sync(Principal who, List<ClientFrame.DocUpdate> ops, List<Written<?>> done) {
        if (ops.size() > limits.maxSyncOps()) {
            throw new ProtocolException(ErrorCode.TOO_LARGE, "at most " + limits.maxSyncOps()
                    + " operations per sync batch; split it");
        }
        charge(who, Math.max(1, ops.size()));
        ObjectNode body = codec.object();
        ArrayNode results = body.putArray("results");
        WriteGuard guard = guard(who);
        HeldInBatch held = new HeldInBatch();
        for (ClientFrame.DocUpdate frame : ops) {
            OpResult r;
            try {
                r = held.apply(DocOp.from(frame), op -> written(documents.write(who, op, guard), done));
            } catch (ProtocolException e) {
                if (e.code() != ErrorCode.BAD_REQUEST) {
                    throw e;
                }
                r = OpResult.Rejected.of(frame.opId(), e);
            }
            results.add(r.toJson());
        }
        return body;
    }

    /**
     * {@code conflict.resolve}: {@code {result: resolved, conflictId, version, document, conflict}}.
     */
    ObjectNode resolve(Principal who, String conflictId, String resolution, Optional<JsonNode> data,
                       List<Written<?>> done) {
        Resolution r = Resolution.parse(resolution, data);
        ConflictRecord record = visibleConflict(who, conflictId);
        charge(who, 1);
        Documents.Resolved res = written(documents.settle(who, record.id(), r, guard(who)), done);
        return codec.object().put("result", "resolved").put("conflictId", record.id())
                .put("version", res.document().version()).<ObjectNode>set("document", res.document().toJson())
                .set("conflict", res.conflict().toJson());
    }

    private static <T> T written(Written<T> w, List<Written<?>> done) {
        done.add(w);
        return w.value();
    }

    /**
     * Publishes what writes committed, in order: called once their author has been answered, on
     * the writer's thread (the broker hands the fan-out to the connections' writers).
     */
    void publish(List<Written<?>> done) {
        for (Written<?> w : done) {
            w.tell(committed);
        }
    }

    /** {@code {"conflicts": […]}}, newest first, those the caller may resolve. */
    ObjectNode listConflicts(Principal who, Optional<String> type, Optional<String> status, int limit) {
        if (type.isPresent() && !DocRef.isValid(type.get(), "x")) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "invalid document type");
        }
        Optional<ConflictRecord.Status> s = status.map(text -> ConflictRecord.Status.fromWire(text).orElseThrow(() ->
                new ProtocolException(ErrorCode.BAD_REQUEST, "status must be open, resolved or stale")));
        if (limit < 1 || limit > ConflictFilter.MAX_LIMIT) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "limit must be 1-" + ConflictFilter.MAX_LIMIT);
        }
        ObjectNode body = codec.object();
        ArrayNode list = body.putArray("conflicts");
        for (ConflictRecord c : documents.listConflicts(who, new ConflictFilter(type, s, limit))) {
            if (mayResolve(who, c)) {
                list.add(c.toJson());
            }
        }
        return body;
    }

    /** The conflict record's JSON. */
    ObjectNode getConflict(Principal who, String conflictId) {
        return visibleConflict(who, conflictId).toJson();
    }

    /** How many open conflicts the user has. */
    long openConflicts(Principal who, String user) {
        return documents.countOpenConflicts(who, user);
    }

    private ConflictRecord visibleConflict(Principal who, String conflictId) {
        if (conflictId.isEmpty() || conflictId.length() > 64) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "conflictId must have 1-64 characters");
        }
        ConflictRecord record = documents.getConflict(who, conflictId)
                .orElseThrow(() -> new ProtocolException(ErrorCode.NOT_FOUND, "no such conflict"));
        if (!mayResolve(who, record)) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, "may not resolve conflicts of " + record.ref().type()
                    + " (rule: " + access.describe(record.ref().type(), Right.RESOLVE) + ")");
        }
        return record;
    }

    private boolean mayResolve(Principal who, ConflictRecord c) {
        return service(who) || access.allows(who, c.ref().type(), Right.RESOLVE,
                new Subject(Optional.of(c.author()), c.server()));
    }

    /** The guard the store asks about each write: the type's rules, then the backend's hook. */
    private WriteGuard guard(Principal who) {
        boolean service = service(who);
        boolean blocking = hooks.judgesDocumentWrites();
        return new WriteGuard() {
            @Override
            public Optional<WriteGuard.Refusal> check(WriteGuard.Write write) {
                Optional<WriteGuard.Refusal> refused = service ? Optional.empty() : authorize(write);
                return refused.isPresent() ? refused : hooks.documentWrite(write);
            }

            @Override
            public boolean blocking() {
                return blocking; // the rules alone are judged under the row lock
            }
        };
    }

    private Optional<WriteGuard.Refusal> authorize(WriteGuard.Write w) {
        Principal who = w.who();
        String type = w.ref().type();
        if (w.conflictId().isPresent()) {
            Subject stored = new Subject(w.author(), w.stored().map(Document::data).orElseGet(codec::object));
            boolean ok = access.allows(who, type, Right.RESOLVE, stored) && switch (w.change()) {
                case WriteGuard.Change.Put p -> access.allows(who, type, Right.RESOLVE, new Subject(w.author(), p.data()));
                default -> true;
            };
            if (!ok) {
                return Optional.of(refusal(Right.RESOLVE, w.ref()));
            }
            // a resolution writes: what it writes is judged as the same change by doc.update would be
        }
        return authorizeChange(w);
    }

    /** The create, write or delete right on what a write (an operation or a resolution) would do. */
    private Optional<WriteGuard.Refusal> authorizeChange(WriteGuard.Write w) {
        Principal who = w.who();
        String type = w.ref().type();
        if (!w.live()) {
            Subject created = switch (w.change()) {
                case WriteGuard.Change.Put p -> new Subject(Optional.of(who.user()), p.data());
                case WriteGuard.Change.Propose p -> new Subject(Optional.of(who.user()), p.local());
                case WriteGuard.Change.Delete d -> Subject.none();
                case WriteGuard.Change.None n -> Subject.none();
            };
            return access.allows(who, type, Right.CREATE, created) ? Optional.empty()
                    : Optional.of(refusal(Right.CREATE, w.ref()));
        }
        Document doc = w.stored().orElseThrow();
        Subject stored = Subject.of(doc);
        return switch (w.change()) {
            case WriteGuard.Change.Delete d -> access.allows(who, type, Right.DELETE, stored) ? Optional.empty()
                    : Optional.of(refusal(Right.DELETE, w.ref()));
            case WriteGuard.Change.Put p -> writable(who, type, stored, p.data(), w.ref());
            case WriteGuard.Change.Propose p -> writable(who, type, stored, p.local(), w.ref());
            case WriteGuard.Change.None n -> access.allows(who, type, Right.WRITE, stored) ? Optional.empty()
                    : Optional.of(refusal(Right.WRITE, w.ref()));
        };
    }

    private Optional<WriteGuard.Refusal> writable(Principal who, String type, Subject stored, ObjectNode result,
                                                   DocRef ref) {
        boolean ok = access.allows(who, type, Right.WRITE, stored)
                && access.allows(who, type, Right.WRITE, new Subject(stored.author(), result));
        return ok ? Optional.empty() : Optional.of(refusal(Right.WRITE, ref));
    }

    private WriteGuard.Refusal refusal(Right right, DocRef ref) {
        return new WriteGuard.Refusal(ErrorCode.FORBIDDEN.wire(), message(right, ref));
    }

    private ProtocolException refused(Right right, DocRef ref) {
        return new ProtocolException(ErrorCode.FORBIDDEN, message(right, ref));
    }

    private String message(Right right, DocRef ref) {
        return "may not " + right.key() + " " + ref.type() + "/" + ref.id() + " (rule: "
                + access.describe(ref.type(), right) + ")";
    }

    private void charge(Principal who, int ops) {
        if (!rates.tryAcquire(who, ops)) {
            throw new ProtocolException(ErrorCode.RATE_LIMITED, "more than " + limits.documentOpsPerSecond()
                    + " document operations per second; slow down (nothing was applied)");
        }
    }

    boolean service(Principal who) {
        return who.hasRole(serviceRole);
    }

    static DocRef ref(String type, String id) {
        if (!DocRef.isValid(type, id)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "docType and docId are 1-128 of A-Z a-z 0-9 _ . @ ~ -");
        }
        return new DocRef(type, id);
    }
}
