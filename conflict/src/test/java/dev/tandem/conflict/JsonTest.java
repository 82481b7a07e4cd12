package dev.tandem.conflict;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;

import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;

import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void numbersAreTheSameByValueWhateverTheirRepresentation() {
        assertTrue(Json.same(IntNode.valueOf(5), Json.NODES.numberNode(new BigDecimal("5.0"))));
        assertFalse(Json.same(IntNode.valueOf(5), DoubleNode.valueOf(5.5)));
        assertFalse(Json.same(IntNode.valueOf(5), TextNode.valueOf("5")));
    }

    @Test
    void infiniteAndNanNumbersCompareWithoutFailing() {
        // 1e400 in a frame reads as Infinity, which has no BigDecimal value
        DoubleNode inf = DoubleNode.valueOf(Double.POSITIVE_INFINITY);
        assertFalse(Json.same(IntNode.valueOf(5), inf));
        assertFalse(Json.same(inf, IntNode.valueOf(5)));
        assertTrue(Json.same(inf, DoubleNode.valueOf(Double.POSITIVE_INFINITY)));
        assertFalse(Json.same(DoubleNode.valueOf(Double.NaN), IntNode.valueOf(0)));
    }
}
