package dev.tandem.client;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a document operation changes: the whole data, a patch ({@code set}, {@code unset},
 * {@code inc}), or a delete. Immutable: the JSON given is copied.
 */
public sealed interface DocChange {

    /** The change as the fields of a {@code doc.update} body: {@code {"data": …}} or {@code {"patch": …}}. */
    ObjectNode toJson();

    /** Replaces the document's data with {@code data} (a JSON object). */
    static DocChange data(JsonNode data) {
        return new Replace(data);
    }

    /**
     * A patch: sets the fields of {@code set}, removes the fields named in {@code unset}, adds
     * the numbers of {@code inc} (deltas of counter fields commute with concurrent changes).
     */
    static DocChange patch(ObjectNode set, List<String> unset, Map<String, ? extends Number> inc) {
        return new Patch(set, unset, inc);
    }

    /** Sets one field. */
    static DocChange set(String field, JsonNode value) {
        ObjectNode set = JsonNodeFactory.instance.objectNode();
        set.set(field, value);
        return new Patch(set, List.of(), Map.of());
    }

    /** Adds {@code delta} to a numeric field. */
    static DocChange inc(String field, Number delta) {
        return new Patch(JsonNodeFactory.instance.objectNode(), List.of(), Map.of(field, delta));
    }

    /** Deletes the document (a versioned tombstone). */
    static DocChange delete() {
        return new Delete();
    }

    /**
     * The change a {@code doc.update} body carries ({@code data} or {@code patch}).
     *
     * @throws IllegalArgumentException if the body has neither or both, or they are malformed
     */
    static DocChange fromJson(JsonNode body) {
        boolean hasData = body.has("data");
        boolean hasPatch = body.has("patch");
        if (hasData == hasPatch) {
            throw new IllegalArgumentException("a change has exactly one of data or patch");
        }
        if (hasData) {
            return new Replace(body.get("data"));
        }
        JsonNode p = body.get("patch");
        if (!p.isObject()) {
            throw new IllegalArgumentException("patch must be an object");
        }
        if (p.has("delete")) {
            if (!p.get("delete").asBoolean(false) || p.size() != 1) {
                throw new IllegalArgumentException("a delete patch is exactly {delete: true}");
            }
            return new Delete();
        }
        ObjectNode set = p.has("set") && p.get("set").isObject() ? (ObjectNode) p.get("set")
                : JsonNodeFactory.instance.objectNode();
        List<String> unset = new java.util.ArrayList<>();
        p.path("unset").forEach(f -> unset.add(f.asText()));
        Map<String, Number> inc = new java.util.LinkedHashMap<>();
        p.path("inc").properties().forEach(e -> inc.put(e.getKey(), e.getValue().numberValue()));
        return new Patch(set, unset, inc);
    }

    /** The whole data. */
    record Replace(JsonNode data) implements DocChange {
        /** Validates and copies. */
        public Replace {
            Objects.requireNonNull(data, "data");
            if (!data.isObject()) {
                throw new IllegalArgumentException("data must be a JSON object");
            }
            data = data.deepCopy();
        }

        @Override
        public ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.set("data", data.deepCopy());
            return o;
        }
    }

    /** A patch; empty parts are left out on the wire. */
    record Patch(ObjectNode set, List<String> unset, Map<String, ? extends Number> inc) implements DocChange {
        /** Validates and copies. */
        public Patch {
            set = Objects.requireNonNull(set, "set").deepCopy();
            unset = List.copyOf(unset);
            inc = Map.copyOf(inc);
            for (Number n : inc.values()) {
                if (n instanceof Double d && !Double.isFinite(d) || n instanceof Float f && !Float.isFinite(f)) {
                    throw new IllegalArgumentException("inc deltas must be finite numbers");
                }
            }
            if (set.isEmpty() && unset.isEmpty() && inc.isEmpty()) {
                throw new IllegalArgumentException("an empty patch changes nothing");
            }
        }

        @Override
        public ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            ObjectNode p = o.putObject("patch");
            if (!set.isEmpty()) {
                p.set("set", set.deepCopy());
            }
            if (!unset.isEmpty()) {
                unset.forEach(p.putArray("unset")::add);
            }
            if (!inc.isEmpty()) {
                ObjectNode i = p.putObject("inc");
                inc.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
                    Number n = e.getValue();
                    if (n instanceof Double || n instanceof Float || n instanceof java.math.BigDecimal) {
                        i.put(e.getKey(), n.doubleValue());
                    } else {
                        i.put(e.getKey(), n.longValue());
                    }
                });
            }
            return o;
        }
    }

    /** Deletes the document. */
    record Delete() implements DocChange {
        @Override
        public ObjectNode toJson() {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.putObject("patch").put("delete", true);
            return o;
        }
    }
}
