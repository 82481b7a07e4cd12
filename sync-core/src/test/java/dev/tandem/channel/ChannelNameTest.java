package dev.tandem.channel;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelNameTest {

    @Test
    void parsesANameWithoutSegments() {
        ChannelName name = ChannelName.parse("tenant").orElseThrow();
        assertEquals("tenant", name.namespace());
        assertEquals(List.of(), name.segments());
        assertEquals("", name.id());
        assertEquals("tenant", name.toString());
    }

    @Test
    void parsesANameWithOneSegment() {
        ChannelName name = ChannelName.parse("location:wh-7").orElseThrow();
        assertEquals("location", name.namespace());
        assertEquals(List.of("wh-7"), name.segments());
        assertEquals("wh-7", name.id());
        assertEquals("location:wh-7", name.toString());
    }

    @Test
    void parsesANameWithSeveralSegmentsAndEveryAllowedIdCharacter() {
        ChannelName name = ChannelName.parse("doc:stock_level:A-1@wh.7~x").orElseThrow();
        assertEquals("doc", name.namespace());
        assertEquals(List.of("stock_level", "A-1@wh.7~x"), name.segments());
        assertEquals("stock_level:A-1@wh.7~x", name.id());
        assertEquals("doc:stock_level:A-1@wh.7~x", name.toString());
    }

    @Test
    void acceptsANameOfExactlyTheMaximumLength() {
        String name = "doc:" + "a".repeat(125) + ":" + "b".repeat(126);
        assertEquals(ChannelName.MAX_LENGTH, name.length());
        assertTrue(ChannelName.parse(name).isPresent());
    }

    @Test
    void refusesANameLongerThanTheMaximum() {
        String name = "doc:" + "a".repeat(126) + ":" + "b".repeat(126);
        assertEquals(ChannelName.MAX_LENGTH + 1, name.length());
        assertEquals(Optional.empty(), ChannelName.parse(name));
    }

    @Test
    void refusesASegmentLongerThan128Characters() {
        assertTrue(ChannelName.parse("location:" + "x".repeat(128)).isPresent());
        assertEquals(Optional.empty(), ChannelName.parse("location:" + "x".repeat(129)));
    }

    @Test
    void refusesNullAndEmpty() {
        assertEquals(Optional.empty(), ChannelName.parse(null));
        assertEquals(Optional.empty(), ChannelName.parse(""));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "user:",            // empty segment at the end
            ":bob",             // empty namespace
            "a::b",             // empty segment in the middle
            "location:wh-7:",   // trailing separator
            ":",
            "Location:wh-7",    // namespaces are lower case
            "9location:x",      // namespaces start with a letter
            "location:wh 7",    // space
            "location:wh/7",    // slash
            "acme/location:x",  // a tenant prefix is not part of a name
            "location:wh#7",
            "location:wh*",
            "location:*",
            "location:wh-7\n",
            "location:wh\u00007",
            "location:\tx",
            "location:\u007f",
            "location:caf\u00e9", // non-ASCII letters are not id characters
            "location:\u0661",    // nor non-ASCII digits
            " location:x",
    })
    void refusesMalformedNames(String name) {
        assertEquals(Optional.empty(), ChannelName.parse(name), () -> "accepted " + name.replaceAll("\\p{Cntrl}", "?"));
    }

    @Test
    void refusesANamespaceLongerThan32Characters() {
        assertTrue(ChannelName.parse("n" + "s".repeat(31)).isPresent());
        assertEquals(Optional.empty(), ChannelName.parse("n" + "s".repeat(32)));
    }

    @Test
    void theConstructorValidatesLikeTheParser() {
        assertThrows(IllegalArgumentException.class, () -> new ChannelName("Bad", List.of()));
        assertThrows(IllegalArgumentException.class, () -> new ChannelName("user", List.of("")));
        assertThrows(IllegalArgumentException.class, () -> new ChannelName("user", List.of("a:b")));
        assertThrows(NullPointerException.class, () -> new ChannelName(null, List.of()));
    }

    @Test
    void segmentsAreCopiedSoTheNameIsImmutable() {
        List<String> segments = new java.util.ArrayList<>(List.of("wh-7"));
        ChannelName name = new ChannelName("location", segments);
        segments.set(0, "wh-8");
        assertEquals("location:wh-7", name.toString());
        assertThrows(UnsupportedOperationException.class, () -> name.segments().add("x"));
    }

    @Test
    void namesWithTheSameTextAreEqual() {
        assertEquals(ChannelName.parse("location:wh-7").orElseThrow(), new ChannelName("location", List.of("wh-7")));
    }

    @Test
    void validIdsAreThoseOfASegment() {
        assertTrue(ChannelName.isValidId("acme"));
        assertTrue(ChannelName.isValidId("bob@example.com"));
        assertFalse(ChannelName.isValidId(null));
        assertFalse(ChannelName.isValidId(""));
        assertFalse(ChannelName.isValidId("a:b"));
        assertFalse(ChannelName.isValidId("a/b"));
        assertFalse(ChannelName.isValidId("x".repeat(129)));
    }

    @Test
    void aChannelKeyRefusesAnInvalidTenant() {
        ChannelName name = ChannelName.parse("tenant").orElseThrow();
        assertThrows(IllegalArgumentException.class, () -> new ChannelKey("a/b", name));
        assertThrows(IllegalArgumentException.class, () -> new ChannelKey("", name));
        assertEquals("acme/tenant", new ChannelKey("acme", name).toString());
    }
}
