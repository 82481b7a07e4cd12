package dev.tandem.telemetry;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LogTextTest {
    @Test
    void controlCharactersAreEscapedAndOrdinaryTextIsKept() {
        String plain = "alice@acme/doc:note:1 é ✓";
        assertSame(plain, LogText.safe(plain));
        assertEquals("a\\u000aFORGED\\u001b[2J\\u0000", LogText.safe("a\nFORGED\u001b[2J\u0000"));
        assertEquals("x\\u2028y", LogText.safe("x\u2028y"));
        assertEquals("null", LogText.safe(null));
    }

    @Test
    void longTextIsCut() {
        String cut = LogText.safe("x".repeat(1000));
        assertEquals(LogText.MAX + 1, cut.length());
        assertTrue(cut.endsWith("…"));
    }

    @Test
    void scrubbedExceptionsKeepTheirClassesStacksAndCausesButNotRawText() {
        Exception cause = new IllegalStateException("key ('c1\n:FORGED')");
        RuntimeException e = new RuntimeException("outer\u001b", cause);
        Throwable s = LogText.scrub(e);
        assertEquals("java.lang.RuntimeException: outer\\u001b", s.toString());
        assertEquals("java.lang.IllegalStateException: key ('c1\\u000a:FORGED')", s.getCause().toString());
        assertEquals(e.getStackTrace().length, s.getStackTrace().length);
        assertFalse(s.getCause().toString().contains("\n"));
    }
}
