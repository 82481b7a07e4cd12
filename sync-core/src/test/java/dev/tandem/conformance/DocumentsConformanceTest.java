package dev.tandem.conformance;

import dev.tandem.document.ConflictRecord;
import dev.tandem.document.DocumentChange;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.tandem.auth.Principal;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * The conformance suite of the {@link Documents} port: every adapter (H2 and PostgreSQL in the
 * conflict module) extends it and is held to the same contract: versions, idempotent replay,
 * the per-type policies (merge, counters, strategies, invariants), manual conflicts and their
 * resolution, the audit trail, offline batches, the committed changes handed back and no lost update
 * under concurrent writers. The cases are grouped by behaviour in the contracts it implements
 * ({@link DocumentVersionsContract}, {@link DocumentMergeContract}, {@link DocumentConstraintsContract},
 * {@link DocumentConflictsContract}, {@link DocumentBatchesContract}, {@link DocumentConcurrencyContract},
 * {@link DocumentGuardsContract}, {@link DocumentReadsContract}, {@link DocumentChangesContract});
 * this class is their fixture ({@link DocumentsFixture}).
 *
 * <p>Adapters implement {@link #open} with the suite's document settings (policies in
 * {@link #SETTINGS}) plus their own database settings. Each test works in a tenant of its own,
 * so adapters backed by a shared database need no cleanup between tests.
 */
public abstract class DocumentsConformanceTest implements DocumentVersionsContract, DocumentMergeContract,
        DocumentConstraintsContract, DocumentConflictsContract, DocumentBatchesContract, DocumentConcurrencyContract,
        DocumentGuardsContract, DocumentReadsContract, DocumentChangesContract {
    /** The document settings every adapter is opened with (keys under the documents node). */
    protected static final Map<String, String> SETTINGS = Map.ofEntries(
            Map.entry("max-document-bytes", "4096"),
            Map.entry("types.stock_level.counters.0", "quantity"),
            Map.entry("types.stock_level.invariants.0", "quantity >= 0"),
            Map.entry("types.stock_level.channels.0", "location:{locationId}"),
            Map.entry("types.stock_level.strategy", "manual"),
            Map.entry("types.note_sw.strategy", "server-wins"),
            Map.entry("types.note_cw.strategy", "client-wins"),
            Map.entry("types.note_manual.strategy", "manual"),
            Map.entry("types.note_strict.merge", "false"),
            Map.entry("types.note_strict.strategy", "server-wins"));

    private Documents docs;
    private Principal alice;
    private Principal bob;
    private final List<DocumentChange> changes = new CopyOnWriteArrayList<>();
    private final List<ConflictRecord> conflicts = new CopyOnWriteArrayList<>();

    /**
     * Opens the adapter.
     *
     * @param settings the suite's document settings ({@link #SETTINGS}), to which the adapter
     *                 adds its database settings
     */
    protected abstract Documents open(Map<String, String> settings);

    @BeforeEach
    void openStore() {
        String tenant = "t-" + UUID.randomUUID().toString().substring(0, 8);
        alice = DocumentsFixture.principal(tenant, "alice");
        bob = DocumentsFixture.principal(tenant, "bob");
        docs = new Recording(open(SETTINGS), new DocumentListener() {
            @Override
            public void changed(DocumentChange change) {
                changes.add(change);
            }

            @Override
            public void conflicted(ConflictRecord conflict) {
                conflicts.add(conflict);
            }
        });
    }

    @AfterEach
    void closeStore() {
        if (docs != null) {
            docs.close();
        }
    }

    /** How many operations each of the concurrent writers makes. */
    protected int concurrentOpsPerThread() {
        return 25;
    }

    // ------------------------------------------------------------------ fixture

    @Override
    public Documents docs() {
        return docs;
    }

    @Override
    public Principal alice() {
        return alice;
    }

    @Override
    public Principal bob() {
        return bob;
    }

    @Override
    public List<DocumentChange> changes() {
        return changes;
    }

    @Override
    public List<ConflictRecord> conflicts() {
        return conflicts;
    }

    @Override
    public final int opsPerConcurrentWriter() {
        return concurrentOpsPerThread();
    }
}
