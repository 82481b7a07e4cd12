package dev.tandem.telemetry;

/**
 * Makes text from outside (client input, and exception messages that may quote it, such as a
 * database error naming a key) safe to put in a log line: control characters (line breaks, ESC,
 * NUL …) are written as {@code \\uXXXX} escapes, so nobody can forge a log line or drive a
 * terminal, and long text is cut.
 */
public final class LogText {
    /** Longest text kept, in characters. */
    public static final int MAX = 200;

    private LogText() {
    }

    /** The text with control characters escaped and cut to {@value #MAX} characters. */
    public static String safe(String text) {
        if (text == null) {
            return "null";
        }
        int n = Math.min(text.length(), MAX);
        StringBuilder sb = null;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029';
            if (control && sb == null) {
                sb = new StringBuilder(n + 16).append(text, 0, i);
            }
            if (sb != null) {
                if (control) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
        }
        String out = sb == null ? text.substring(0, n) : sb.toString();
        return text.length() > MAX ? out + "…" : out;
    }

    /**
     * A copy of an exception fit for a log: the same class names, stack traces and causes, with
     * every message made {@link #safe}.
     */
    public static Throwable scrub(Throwable t) {
        return scrub(t, 0);
    }

    private static Throwable scrub(Throwable t, int depth) {
        Throwable cause = t.getCause() != null && t.getCause() != t && depth < 8 ? scrub(t.getCause(), depth + 1) : null;
        Scrubbed copy = new Scrubbed(t.getClass().getName() + (t.getMessage() == null ? "" : ": " + safe(t.getMessage())),
                cause);
        copy.setStackTrace(t.getStackTrace());
        return copy;
    }

    /** An exception whose text is already made safe. */
    private static final class Scrubbed extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String text;

        Scrubbed(String text, Throwable cause) {
            super(text, cause, false, true);
            this.text = text;
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
