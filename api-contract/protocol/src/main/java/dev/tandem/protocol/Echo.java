package dev.tandem.protocol;

/**
 * How an error message, a header or a log line repeats a value that came from outside (a field
 * of a frame or an event, a path): in double quotes, with quotes, backslashes and control
 * characters (line breaks, ESC, NUL, U+2028/9) escaped, cut to a bound. Nobody can forge a log
 * line or a header with it, and a 100 KB value stays a short excerpt.
 */
public final class Echo {
    /** Characters of the value kept by {@link #quoted(String)}. */
    public static final int DEFAULT_MAX = 64;

    private Echo() {
    }

    /** The value quoted, escaped and cut to {@value #DEFAULT_MAX} characters. */
    public static String quoted(String value) {
        return quoted(value, DEFAULT_MAX);
    }

    /** The value quoted, escaped and cut to {@code max} characters (an ellipsis marks a cut). */
    public static String quoted(String value, int max) {
        if (value == null) {
            return "null";
        }
        int n = Math.min(value.length(), max);
        if (n > 0 && n < value.length() && Character.isHighSurrogate(value.charAt(n - 1))) {
            n--; // never split a character
        }
        StringBuilder sb = new StringBuilder(n + 8).append('"');
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        sb.append('"');
        return n < value.length() ? sb.append('…').toString() : sb.toString();
    }
}
