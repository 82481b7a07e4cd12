package dev.tandem.document;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A document's history, newest first, a page of versions at a time: each version as kept
 * ({@code keep-versions} of them) and the audit entries about it (the merge or resolution that
 * wrote it, and the rejections and conflicts recorded while it was current), as long as the audit
 * retention keeps them.
 */
public final class History {
    /** The largest page, in versions. */
    public static final int MAX_LIMIT = 100;

    private History() {
    }

    /**
     * Which page.
     *
     * @param limit  how many versions, 1 to {@value #MAX_LIMIT}
     * @param before only versions up to this one (the previous page's {@link Page#next()}); empty
     *               for the newest
     */
    public record Query(int limit, Optional<Long> before) {
        /** Validates the fields. */
        public Query {
            Objects.requireNonNull(before, "before");
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new IllegalArgumentException("limit must be 1-" + MAX_LIMIT);
            }
            if (before.isPresent() && before.get() < 1) {
                throw new IllegalArgumentException("before must be a version");
            }
        }
    }

    /**
     * One version and what was recorded about it.
     *
     * @param version  the version number
     * @param document the version as written, empty when it is no longer kept
     * @param audit    its audit entries, oldest first
     */
    public record Step(long version, Optional<Document> document, List<AuditEntry> audit) {
        /** Validates and copies the fields. */
        public Step {
            Objects.requireNonNull(document, "document");
            audit = List.copyOf(audit);
        }

        /** {@code {"version", "document" (or null), "audit": […]}}. */
        public ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode().put("version", version);
            if (document.isPresent()) {
                o.set("document", document.get().toJson());
            } else {
                o.putNull("document");
            }
            ArrayNode a = o.putArray("audit");
            audit.forEach(e -> a.add(e.toJson()));
            return o;
        }
    }

    /**
     * One page.
     *
     * @param steps newest version first
     * @param next  the {@link Query#before()} of the next (older) page, empty at the first version
     */
    public record Page(List<Step> steps, Optional<Long> next) {
        /** Validates and copies the fields. */
        public Page {
            steps = List.copyOf(steps);
            Objects.requireNonNull(next, "next");
        }
    }
}
