package dev.tandem.document;

import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The documents of a type whose top-level field equals a value, one page after a cursor:
 * ordered by document id, tombstones left out.
 *
 * @param type  the document type
 * @param field the top-level field of the data to match
 * @param value the value it must equal (a string, number or boolean; numbers by value)
 * @param limit the page size, 1 to {@value #MAX_LIMIT}
 * @param after the store's position after the previous page ({@link Page#next()}); the operations
 *              layer hands clients only an encrypted, query-bound cursor of it
 */
public record DocumentQuery(String type, String field, JsonNode value, int limit, Optional<String> after) {
    /** The largest page. */
    public static final int MAX_LIMIT = 500;

    /** Validates the fields. */
    public DocumentQuery {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(after, "after");
        if (!DocRef.isValid(type, "x")) {
            throw new IllegalArgumentException("invalid document type");
        }
        if (field.isEmpty() || field.length() > 256) {
            throw new IllegalArgumentException("field names must have 1-256 characters");
        }
        if (!value.isTextual() && !value.isNumber() && !value.isBoolean()) {
            throw new IllegalArgumentException("the value must be a string, number or boolean");
        }
        if (value.isFloatingPointNumber() && !Double.isFinite(value.doubleValue())) {
            // 1e400 reads as Infinity: no stored number is ever equal to it
            throw new IllegalArgumentException("the value must be a finite number");
        }
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be 1-" + MAX_LIMIT);
        }
    }

    /**
     * One page of a query.
     *
     * @param documents the matching documents, ordered by id (possibly fewer than the limit even
     *                  when more follow: a store may stop after a bounded scan)
     * @param next      the cursor of the next page, empty when there is none
     */
    public record Page(java.util.List<Document> documents, Optional<String> next) {
        /** Validates and copies the fields. */
        public Page {
            documents = java.util.List.copyOf(documents);
            Objects.requireNonNull(next, "next");
        }
    }
}
