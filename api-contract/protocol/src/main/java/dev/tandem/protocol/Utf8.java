package dev.tandem.protocol;

import java.nio.charset.StandardCharsets;

/**
 * Strict UTF-8 (RFC 3629) for every byte input the gateway parses: REST and SSE bodies, Kafka
 * records. A lenient decoder turns an overlong encoding such as {@code C1 A2} into a plain
 * {@code b}, so a value could pass a check on its bytes and mean something else once decoded (a
 * tenant id, a {@code :} in a channel name); this one refuses overlong forms, encoded surrogates,
 * code points above U+10FFFF, stray continuation bytes and truncated sequences, before anything
 * is parsed.
 */
public final class Utf8 {
    private Utf8() {
    }

    /**
     * Decodes strictly valid UTF-8.
     *
     * @throws ProtocolException {@link ErrorCode#BAD_REQUEST} naming the offset of the first invalid byte
     */
    public static String decode(byte[] bytes) {
        int bad = firstInvalid(bytes);
        if (bad >= 0) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "not valid UTF-8 (byte " + bad + ")");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * Checks that the bytes are strictly valid UTF-8.
     *
     * @throws ProtocolException {@link ErrorCode#BAD_REQUEST} naming the offset of the first invalid byte
     */
    public static void check(byte[] bytes) {
        int bad = firstInvalid(bytes);
        if (bad >= 0) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "not valid UTF-8 (byte " + bad + ")");
        }
    }

    /** The offset of the first byte that does not belong to a well-formed sequence, or -1. */
    static int firstInvalid(byte[] b) {
        int n = b.length;
        int i = 0;
        while (i < n) {
            int b0 = b[i];
            if (b0 >= 0) { // ASCII, the common case
                i++;
                continue;
            }
            b0 &= 0xFF;
            // the well-formed sequences of RFC 3629, section 4: the lead byte fixes the length and
            // the range of the second byte (which excludes overlong forms, surrogates and > U+10FFFF)
            int length;
            int lo = 0x80;
            int hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                length = 2;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                length = 3;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F;
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                length = 4;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                return i; // a continuation byte without a lead, C0/C1 (overlong) or F5-FF
            }
            if (i + length > n) {
                return i;
            }
            int second = b[i + 1] & 0xFF;
            if (second < lo || second > hi) {
                return i;
            }
            for (int k = 2; k < length; k++) {
                int c = b[i + k] & 0xFF;
                if (c < 0x80 || c > 0xBF) {
                    return i;
                }
            }
            i += length;
        }
        return -1;
    }
}
