package dev.tandem.conflict;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.document.Document;
import dev.tandem.document.WriteGuard;

/**
 * A write's guard answers, per outcome judged, for one operation or resolution. A blocking guard
 * (a backend's hook) is asked outside every transaction: the work inside the transaction finds
 * the verdict of the outcome it is about to write, or stops with {@link Unjudged} (rolled back,
 * nothing written) so that the guard is asked about it before the next attempt. An outcome is
 * what the guard judges: the stored document's author and data, and the change; a version that
 * moved without changing these keeps its verdict. Used by one thread.
 */
final class Verdicts {
    private final WriteGuard guard;
    private final Map<Outcome, Optional<WriteGuard.Refusal>> judged = new HashMap<>();
    private boolean relocked;

    Verdicts(WriteGuard guard) {
        this.guard = guard;
    }

    /** What a guard's verdict depends on. */
    private record Outcome(boolean live, Optional<String> author, Optional<JsonNode> stored, WriteGuard.Change change,
                           Optional<String> conflictId, Optional<String> conflictAuthor) {
        static Outcome of(WriteGuard.Write w) {
            Optional<Document> live = w.stored().filter(d -> !d.deleted());
            return new Outcome(live.isPresent(), live.map(Document::createdBy), live.map(Document::data), w.change(),
                    w.conflictId(), w.author());
        }
    }

    /**
     * The work found an outcome nobody judged yet (roll back, ask, run again), or, with no write,
     * an answer it may give only under the row lock (run again locking).
     */
    static final class Unjudged extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final transient Optional<WriteGuard.Write> write;

        Unjudged(Optional<WriteGuard.Write> write) {
            super("not judged yet", null, false, false);
            this.write = write;
        }

        Optional<WriteGuard.Write> write() {
            return write;
        }
    }

    /** Whether the work locks rows now: the guard does not block, or has answered already. */
    boolean locking() {
        return !guard.blocking() || relocked || !judged.isEmpty();
    }

    /** Stops a reading round whose answer needs the row lock: the next round locks. */
    Unjudged relock() {
        relocked = true;
        return new Unjudged(Optional.empty());
    }

    /**
     * The verdict on a write, inside the work's transaction: a guard that does not block is asked
     * now; a blocking one's earlier answer about the same outcome is used.
     *
     * @throws Unjudged when the blocking guard has not judged this outcome
     */
    Optional<WriteGuard.Refusal> of(WriteGuard.Write write) {
        if (!guard.blocking()) {
            return guard.check(write);
        }
        Optional<WriteGuard.Refusal> verdict = judged.get(Outcome.of(write));
        if (verdict == null) {
            throw new Unjudged(Optional.of(write));
        }
        return verdict;
    }

    /** Asks the guard about a write, outside any transaction, and keeps its answer. */
    void ask(WriteGuard.Write write) {
        judged.put(Outcome.of(write), guard.check(write));
    }

    /** How often the guard was asked. */
    int asked() {
        return judged.size();
    }
}
