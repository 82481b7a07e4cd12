package dev.tandem.session;

import java.nio.charset.StandardCharsets;

/** Sizes as the wire counts them: a message's UTF-8 length against the frame limit, a close reason's bytes. */
final class Wire {
    /** RFC 6455 allows 123 bytes of reason; a cut one ends with "...". */
    private static final int MAX_REASON_BYTES = 120;

    private Wire() {
    }

    /** Why a message over the frame limit is refused. */
    static String tooLarge(int maxFrameBytes) {
        return "message larger than " + maxFrameBytes + " bytes";
    }

    /** Whether a text message is larger than {@code max} bytes in UTF-8 (counted only when it could be). */
    static boolean oversize(String text, int max) {
        return (long) text.length() * 3 > max && (text.length() > max || utf8Length(text) > max);
    }

    static int utf8Length(String s) {
        int n = s.length();
        int bytes = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes++;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    /** A close reason cut to fit a WebSocket close frame. */
    static String closeReason(String reason) {
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        if (b.length <= MAX_REASON_BYTES) {
            return reason;
        }
        StringBuilder sb = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < reason.length(); i++) {
            int cb = String.valueOf(reason.charAt(i)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + cb > MAX_REASON_BYTES - 3) {
                break;
            }
            sb.append(reason.charAt(i));
            bytes += cb;
        }
        return sb.append("...").toString();
    }
}
