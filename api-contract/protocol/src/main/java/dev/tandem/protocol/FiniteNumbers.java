package dev.tandem.protocol;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NumericNode;
import com.fasterxml.jackson.databind.node.ValueNode;

/**
 * Builds JSON trees as Jackson does, but refuses a number no double can hold: {@code 1e400}
 * would otherwise become {@code Infinity}, which JSON cannot carry and which Jackson writes back
 * as the string {@code "Infinity"}, so the value a client receives would not be the one sent.
 */
final class FiniteNumbers extends JsonNodeFactory {
    private static final long serialVersionUID = 1L;
    static final FiniteNumbers INSTANCE = new FiniteNumbers();

    private FiniteNumbers() {
        super(false);
    }

    @Override
    public NumericNode numberNode(double v) {
        return super.numberNode(finite(v));
    }

    @Override
    public ValueNode numberNode(Double value) {
        return value == null ? nullNode() : super.numberNode(finite(value));
    }

    @Override
    public NumericNode numberNode(float v) {
        return super.numberNode((float) finite(v));
    }

    @Override
    public ValueNode numberNode(Float value) {
        return value == null ? nullNode() : super.numberNode((float) finite(value));
    }

    private static double finite(double v) {
        if (!Double.isFinite(v)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "a number is out of range (JSON numbers must be finite "
                    + "doubles)");
        }
        return v;
    }
}
