package dev.tandem.gateway;

import java.net.SocketException;
import java.util.logging.Level;
import java.util.logging.LogRecord;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServerLogFilterTest {
    private static final String JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";

    @Test
    void credentialsAreRemovedFromMessagesParametersAndExceptions() {
        LogRecord r = new LogRecord(Level.WARNING, "Request failed: query=?channel=t&access_token=" + JWT + "&x=1 {0}");
        r.setParameters(new Object[] {"Authorization: Bearer abc.def-ghi"});
        r.setThrown(new IllegalStateException("bad token " + JWT, new RuntimeException("token=secret123")));
        ServerLogFilter.install();
        assertTrue(filter().isLoggable(r));
        assertEquals("Request failed: query=?channel=t&access_token=***&x=1 {0}", r.getMessage());
        assertEquals("Authorization: Bearer ***", r.getParameters()[0]);
        assertFalse(r.getThrown().toString().contains("c2lnbmF0dXJl"), r.getThrown().toString());
        assertTrue(r.getThrown().getCause().toString().contains("token=***"), r.getThrown().getCause().toString());
    }

    @Test
    void aClientThatWentAwayIsNotLoggedAtAll() {
        LogRecord r = new LogRecord(Level.WARNING, "Request failed: cannot send error response");
        r.setThrown(new RuntimeException(new java.io.UncheckedIOException(new SocketException("Broken pipe"))));
        assertFalse(filter().isLoggable(r));
        LogRecord other = new LogRecord(Level.WARNING, "Request failed");
        other.setThrown(new IllegalStateException("a bug"));
        assertTrue(filter().isLoggable(other));
    }

    private static java.util.logging.Filter filter() {
        ServerLogFilter.install();
        return java.util.logging.Logger.getLogger("io.helidon.webserver.http.ErrorHandlers").getFilter();
    }
}
