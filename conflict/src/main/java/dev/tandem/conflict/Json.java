package dev.tandem.conflict;

import java.math.BigDecimal;
import java.util.Comparator;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** JSON helpers: one mapper (exact decimals), value equality that ignores number representation. */
final class Json {
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    // decimals as BigDecimal: counters must never pick up binary floating point errors
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    /** Numbers equal by value (5, 5.0 and 5L are the same); everything else structurally. */
    private static final Comparator<JsonNode> VALUE_ORDER = (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
            if (!finite(a) || !finite(b)) {
                return Double.compare(a.doubleValue(), b.doubleValue()); // no BigDecimal for them
            }
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
    };

    private Json() {
    }

    private static boolean finite(JsonNode number) {
        return !number.isFloatingPointNumber() || Double.isFinite(number.doubleValue());
    }

    static ObjectNode object() {
        return NODES.objectNode();
    }

    static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON does not parse", e);
        }
    }

    static ObjectNode parseObject(String text) {
        JsonNode n = parse(text);
        return n instanceof ObjectNode o ? o : object();
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("JSON does not serialize", e);
        }
    }

    /** Whether two values (either may be null = absent) are the same value. */
    static boolean same(JsonNode a, JsonNode b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a.equals(VALUE_ORDER, b);
    }

    /** The top-level fields whose values differ between two objects (absent counts as a value). */
    static Set<String> changedFields(ObjectNode before, ObjectNode after) {
        Set<String> fields = new TreeSet<>();
        for (Iterator<String> it = before.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!same(before.get(f), after.get(f))) {
                fields.add(f);
            }
        }
        for (Iterator<String> it = after.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!before.has(f)) {
                fields.add(f);
            }
        }
        return fields;
    }

    /** The number as compact JSON: an integral value as an integer, else an exact decimal. */
    static JsonNode number(BigDecimal value) {
        BigDecimal v = value.stripTrailingZeros();
        if (v.scale() <= 0 && v.precision() - v.scale() <= 18) {
            return NODES.numberNode(v.longValueExact());
        }
        return NODES.numberNode(v.scale() < 0 ? v.setScale(0) : v);
    }

    static ArrayNode array(Iterable<String> values) {
        ArrayNode a = NODES.arrayNode();
        values.forEach(a::add);
        return a;
    }
}
