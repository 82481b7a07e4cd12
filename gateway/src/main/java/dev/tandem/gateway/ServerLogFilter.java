package dev.tandem.gateway;

import java.net.SocketException;
import java.util.List;
import java.util.logging.Filter;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;

import dev.tandem.telemetry.LogText;

/**
 * What the web server library logs about requests, made fit for Tandem's log: Helidon writes the
 * request line (with its query, where an SSE stream carries {@code access_token=}) and the
 * exception when a request fails, including when the client merely went away before its answer
 * was written. This filter, set on those loggers, removes credentials from every such record
 * (message, parameters, exception messages) and drops the records of a client that went away
 * (a broken pipe or reset after the response was sent): an ordinary end, not a warning.
 */
final class ServerLogFilter implements Filter {
    /** The library's loggers that repeat request lines or client-caused exceptions. */
    private static final List<String> LOGGERS = List.of(
            "io.helidon.webserver.http.ErrorHandlers",
            "io.helidon.webserver.http1.Http1Connection",
            "io.helidon.webserver.http.Http1ServerResponse",
            "io.helidon.webserver.ConnectionHandler",
            "io.helidon.webserver.ServerListener",
            "io.helidon.webserver.LoomServer");
    private static final Pattern QUERY_TOKEN = Pattern.compile("(?i)((?:access_token|token)=)[^&\\s,\\]\"']+");
    private static final Pattern BEARER = Pattern.compile("(?i)(bearer\\s+)[A-Za-z0-9._~+/=-]+");
    /** A JWT anywhere (three base64url parts, the first a JSON header). */
    private static final Pattern JWT = Pattern.compile("eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");
    private static final ServerLogFilter INSTANCE = new ServerLogFilter();
    /** The loggers filtered, held so they are not collected (and re-created without the filter). */
    private static final List<Logger> HELD = LOGGERS.stream().map(Logger::getLogger).toList();

    private ServerLogFilter() {
    }

    /** Sets the filter on the library's loggers (idempotent). */
    static void install() {
        HELD.forEach(l -> l.setFilter(INSTANCE));
    }

    @Override
    public boolean isLoggable(LogRecord record) {
        if (clientWentAway(record.getThrown())) {
            return false;
        }
        if (record.getMessage() != null) {
            record.setMessage(redact(record.getMessage()));
        }
        Object[] params = record.getParameters();
        if (params != null) {
            Object[] clean = params.clone();
            for (int i = 0; i < clean.length; i++) {
                if (clean[i] != null && !(clean[i] instanceof Number)) {
                    clean[i] = redact(String.valueOf(clean[i]));
                }
            }
            record.setParameters(clean);
        }
        if (record.getThrown() != null) {
            record.setThrown(redacted(LogText.scrub(record.getThrown())));
        }
        return true;
    }

    /** The text without credentials. */
    static String redact(String text) {
        String t = QUERY_TOKEN.matcher(text).replaceAll("$1***");
        t = BEARER.matcher(t).replaceAll("$1***");
        return JWT.matcher(t).replaceAll("***");
    }

    /** A broken pipe or a reset: the peer closed its end; nothing for an operator to do. */
    private static boolean clientWentAway(Throwable t) {
        for (int depth = 0; t != null && depth < 8; t = t.getCause(), depth++) {
            if (t instanceof SocketException s && s.getMessage() != null
                    && (s.getMessage().contains("Broken pipe") || s.getMessage().contains("Connection reset")
                    || s.getMessage().contains("Socket closed"))) {
                return true;
            }
        }
        return false;
    }

    /** A copy of a (scrubbed) exception chain whose messages carry no credentials. */
    private static Throwable redacted(Throwable t) {
        Throwable cause = t.getCause() != null && t.getCause() != t ? redacted(t.getCause()) : null;
        Redacted copy = new Redacted(redact(t.toString()), cause);
        copy.setStackTrace(t.getStackTrace());
        return copy;
    }

    /** An exception whose text is already redacted. */
    private static final class Redacted extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String text;

        Redacted(String text, Throwable cause) {
            super(text, cause, false, true);
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
