package dev.tandem.conformance;

import java.util.List;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.document.AuditEntry;
import dev.tandem.document.ConflictFilter;
import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocOp;
import dev.tandem.document.DocRef;
import dev.tandem.document.Document;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.DocumentQuery;
import dev.tandem.document.Documents;
import dev.tandem.document.History;
import dev.tandem.document.OpResult;
import dev.tandem.document.Resolution;
import dev.tandem.document.WriteGuard;
import dev.tandem.document.Written;

/**
 * A store under test whose committed writes are told to a listener as the operations layer
 * tells its publisher: after the write returned, from what it handed back.
 */
final class Recording implements Documents {
    private final Documents store;
    private final DocumentListener listener;

    Recording(Documents store, DocumentListener listener) {
        this.store = store;
        this.listener = listener;
    }

    @Override
    public Optional<Document> get(Principal who, DocRef ref) {
        return store.get(who, ref);
    }

    @Override
    public Written<OpResult> write(Principal who, DocOp op, WriteGuard guard) {
        return told(store.write(who, op, guard));
    }

    @Override
    public Written<Resolved> settle(Principal who, String conflictId, Resolution resolution, WriteGuard guard) {
        return told(store.settle(who, conflictId, resolution, guard));
    }

    @Override
    public List<ConflictRecord> listConflicts(Principal who, ConflictFilter filter) {
        return store.listConflicts(who, filter);
    }

    @Override
    public long countOpenConflicts(Principal who, String author) {
        return store.countOpenConflicts(who, author);
    }

    @Override
    public DocumentQuery.Page query(Principal who, DocumentQuery query) {
        return store.query(who, query);
    }

    @Override
    public List<String> channelTemplates(String type) {
        return store.channelTemplates(type);
    }

    @Override
    public Optional<ConflictRecord> getConflict(Principal who, String conflictId) {
        return store.getConflict(who, conflictId);
    }

    @Override
    public List<AuditEntry> audit(Principal who, DocRef ref, int limit) {
        return store.audit(who, ref, limit);
    }

    @Override
    public History.Page history(Principal who, DocRef ref, History.Query query) {
        return store.history(who, ref, query);
    }

    @Override
    public Written<OpResult> revert(Principal who, DocRef ref, long version, String opId) {
        return told(store.revert(who, ref, version, opId));
    }

    @Override
    public void close() {
        store.close();
    }

    private <T> Written<T> told(Written<T> w) {
        w.tell(listener);
        return w;
    }
}
