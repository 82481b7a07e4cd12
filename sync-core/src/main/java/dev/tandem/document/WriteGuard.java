package dev.tandem.document;

import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;

/**
 * Asked by a {@link Documents} store, before anything is written, whether a write may happen:
 * with the document as stored and what the write would make of it. The operations layer judges
 * document authorization here ({@link DocumentAccess}); it is also the place where a backend may
 * refuse a write before it commits (an HTTP call). A refusal writes nothing, records nothing (the
 * opId stays unspent) and is answered {@link OpResult.Rejected} with the refusal's code and
 * reason ({@link Documents#resolve} throws it as {@code FORBIDDEN}).
 *
 * <p>A {@link #blocking()} guard is asked on the writer's thread outside any transaction (no
 * row lock, no pooled connection held): the store reads and merges, asks, then writes under the
 * row lock if the document is still where it was judged, or, when it moved and the write's
 * outcome changed, asks again about the new outcome (a bounded number of times). A guard that
 * does not block is asked inside the transaction. Either may be asked more than once per
 * operation.
 */
@FunctionalInterface
public interface WriteGuard {
    /** A guard that allows everything (trusted callers, tests). */
    WriteGuard ALLOW = new WriteGuard() {
        @Override
        public Optional<Refusal> check(Write write) {
            return Optional.empty();
        }

        @Override
        public boolean blocking() {
            return false;
        }
    };

    /**
     * Judges a write.
     *
     * @return empty to allow it, else why not
     */
    Optional<Refusal> check(Write write);

    /**
     * Whether {@link #check} may wait on I/O (a backend's hook), so that the store must ask it
     * outside its transactions; false for pure checks (rules), which are asked under the row lock.
     */
    default boolean blocking() {
        return true;
    }

    /**
     * A write a store is about to make.
     *
     * @param who        the caller
     * @param ref        the document
     * @param stored     the document as stored (possibly a tombstone), empty when it never existed
     * @param change     what the write would do
     * @param conflictId the conflict being resolved, for resolutions
     * @param author     for resolutions, the conflict's author; else empty
     */
    record Write(Principal who, DocRef ref, Optional<Document> stored, Change change, Optional<String> conflictId,
                 Optional<String> author) {
        /** Validates the fields. */
        public Write {
            Objects.requireNonNull(who, "who");
            Objects.requireNonNull(ref, "ref");
            Objects.requireNonNull(stored, "stored");
            Objects.requireNonNull(change, "change");
            Objects.requireNonNull(conflictId, "conflictId");
            Objects.requireNonNull(author, "author");
        }

        /** Whether the document exists and is not a tombstone. */
        public boolean live() {
            return stored.isPresent() && !stored.get().deleted();
        }
    }

    /** What a write would do to the document. */
    sealed interface Change {
        /** Write this data as the next version (creating the document when it is not live). */
        record Put(ObjectNode data) implements Change {
            /** Validates the fields. */
            public Put {
                Objects.requireNonNull(data, "data");
            }
        }

        /** Delete it (a tombstone). */
        record Delete() implements Change {
        }

        /** Hold the operation as a manual conflict proposing this data (nothing is written to the document). */
        record Propose(ObjectNode local) implements Change {
            /** Validates the fields. */
            public Propose {
                Objects.requireNonNull(local, "local");
            }
        }

        /** Nothing changes (the operation is rejected or the stored values won); judged on what is stored. */
        record None() implements Change {
        }
    }

    /**
     * Why a write was refused.
     *
     * @param code   the result code clients see, e.g. {@code forbidden}
     * @param reason a human-readable reason
     */
    record Refusal(String code, String reason) {
        /** Validates the fields. */
        public Refusal {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
