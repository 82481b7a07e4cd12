package dev.tandem.conflict;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A numeric rule a document of a type must keep, written {@code field op number} with op one of
 * {@code >= > <= < == !=}, e.g. {@code quantity >= 0}. An absent field passes (use a creation
 * default if it must exist); a present field that is not a number breaks the rule.
 */
record Invariant(String field, String operator, BigDecimal bound, String text) {
    private static final Pattern FORM = Pattern.compile(
            "\\s*([A-Za-z0-9_.@~-]{1,256})\\s*(>=|<=|==|!=|>|<)\\s*(-?[0-9]+(?:\\.[0-9]+)?)\\s*");

    /** Parses {@code field op number}. */
    static Invariant parse(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("invariant '" + text + "' is not 'field op number' (op: >= > <= < == !=)");
        }
        return new Invariant(m.group(1), m.group(2), new BigDecimal(m.group(3)), text.trim());
    }

    /** Why {@code data} breaks the rule, or empty when it holds. */
    Optional<String> check(ObjectNode data) {
        JsonNode v = data.get(field);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isNumber()) {
            return Optional.of(field + " must be a number (" + text + ")");
        }
        int c = v.decimalValue().compareTo(bound);
        boolean ok = switch (operator) {
            case ">=" -> c >= 0;
            case ">" -> c > 0;
            case "<=" -> c <= 0;
            case "<" -> c < 0;
            case "==" -> c == 0;
            case "!=" -> c != 0;
            default -> throw new IllegalStateException(operator);
        };
        return ok ? Optional.empty() : Optional.of(text + " would break: " + field + " would be "
                + v.decimalValue().toPlainString());
    }
}
