package dev.tandem.conflict;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The bound on the numbers a document may hold, checked on every write: at most
 * {@code maxDigits} digits before and after the decimal point when written out plainly. It keeps
 * what is stored readable (a JSON reader refuses numbers longer than 1,000 characters, so a
 * 900-digit integer incremented by {@code 1e-300} would make a document unreadable for good) and
 * keeps arithmetic cheap (an {@code inc} of {@code 1e1000000000} would build a billion-digit
 * number): the operation's own numbers are checked before any arithmetic, the result after it.
 */
final class Numbers {
    private final int maxDigits;

    Numbers(int maxDigits) {
        if (maxDigits < 1 || maxDigits > 500) {
            throw new IllegalArgumentException("max-number-digits must be 1-500");
        }
        this.maxDigits = maxDigits;
    }

    /** The first number in the value (at any depth) that is out of bounds, as a reason. */
    Optional<String> check(JsonNode value) {
        if (value == null) {
            return Optional.empty();
        }
        if (value.isNumber()) {
            return checkNumber(value);
        }
        if (value.isContainerNode()) {
            for (JsonNode child : value) {
                Optional<String> bad = check(child);
                if (bad.isPresent()) {
                    return bad;
                }
            }
        }
        return Optional.empty();
    }

    /** The first of the deltas that is out of bounds. */
    Optional<String> checkDeltas(Map<String, BigDecimal> deltas) {
        for (BigDecimal d : deltas.values()) {
            Optional<String> bad = checkDecimal(d);
            if (bad.isPresent()) {
                return bad;
            }
        }
        return Optional.empty();
    }

    private Optional<String> checkNumber(JsonNode n) {
        if ((n.isDouble() || n.isFloat()) && !Double.isFinite(n.doubleValue())) {
            return Optional.of("numbers must be finite");
        }
        if (n.isIntegralNumber()) {
            // BigInteger digits without building a BigDecimal
            int digits = n.isBigInteger() ? n.bigIntegerValue().abs().toString().length()
                    : Long.toString(Math.abs(n.longValue())).length();
            return digits > maxDigits ? tooLong() : Optional.empty();
        }
        return checkDecimal(n.decimalValue());
    }

    private Optional<String> checkDecimal(BigDecimal d) {
        // precision and scale are read off the value: nothing is expanded
        long integerDigits = (long) d.precision() - d.scale();
        long fractionDigits = Math.max(d.scale(), 0);
        if (integerDigits > maxDigits || fractionDigits > maxDigits) {
            return tooLong();
        }
        return Optional.empty();
    }

    private Optional<String> tooLong() {
        return Optional.of("numbers may have at most " + maxDigits + " digits before and " + maxDigits
                + " after the decimal point");
    }
}
