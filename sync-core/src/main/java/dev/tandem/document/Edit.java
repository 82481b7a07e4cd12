package dev.tandem.document;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What an operation does to a document: replace the whole data, patch fields, or delete.
 *
 * <p>Patches address top-level fields; a nested object is one value. Merges work on the same
 * granularity.
 */
public sealed interface Edit {

    /** Replaces the whole data (creating the document when its base version is 0). */
    record Replace(ObjectNode data) implements Edit {
        /** Validates the fields. */
        public Replace {
            Objects.requireNonNull(data, "data");
        }
    }

    /**
     * Sets, removes and increments top-level fields. A field appears in at most one of the three.
     *
     * @param set   fields to set to a value
     * @param unset fields to remove
     * @param inc   numeric deltas; a missing field counts as 0
     */
    record Patch(Map<String, JsonNode> set, Set<String> unset, Map<String, BigDecimal> inc) implements Edit {
        /** Validates and copies the fields. */
        public Patch {
            set = Map.copyOf(set);
            unset = Set.copyOf(unset);
            inc = Map.copyOf(inc);
            for (String f : set.keySet()) {
                if (unset.contains(f) || inc.containsKey(f)) {
                    throw new IllegalArgumentException("field '" + f + "' appears twice in the patch");
                }
            }
            for (String f : unset) {
                if (inc.containsKey(f)) {
                    throw new IllegalArgumentException("field '" + f + "' appears twice in the patch");
                }
            }
        }

        /** A patch that only increments. */
        public static Patch inc(Map<String, BigDecimal> deltas) {
            return new Patch(Map.of(), Set.of(), deltas);
        }

        /** A patch that only sets. */
        public static Patch set(Map<String, JsonNode> values) {
            return new Patch(values, Set.of(), Map.of());
        }
    }

    /** Deletes the document, leaving a versioned tombstone. */
    record Delete() implements Edit {
    }
}
