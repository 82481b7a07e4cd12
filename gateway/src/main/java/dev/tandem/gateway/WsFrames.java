package dev.tandem.gateway;

import java.util.List;
import java.util.function.Function;

/**
 * Server-to-client WebSocket text frames (RFC 6455 section 5.2: FIN, opcode 1, no mask),
 * several laid end to end in one buffer so a connection's queued frames go out in one socket
 * write. Helidon writes one frame per call and flushes each.
 */
final class WsFrames {
    private static final int FIN_TEXT = 0x81;

    private WsFrames() {
    }

    /** The frames whose UTF-8 payloads {@code payload} gives, in order, in one array. */
    static <T> byte[] text(List<T> frames, Function<T, byte[]> payload) {
        int total = 0;
        for (T f : frames) {
            int length = payload.apply(f).length;
            total += headerLength(length) + length;
        }
        byte[] out = new byte[total];
        int at = 0;
        for (T f : frames) {
            byte[] p = payload.apply(f);
            at = header(out, at, p.length);
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static int headerLength(int payloadLength) {
        return payloadLength < 126 ? 2 : payloadLength <= 0xFFFF ? 4 : 10;
    }

    private static int header(byte[] out, int at, int length) {
        out[at++] = (byte) FIN_TEXT;
        if (length < 126) {
            out[at++] = (byte) length;
        } else if (length <= 0xFFFF) {
            out[at++] = 126;
            out[at++] = (byte) (length >>> 8);
            out[at++] = (byte) length;
        } else {
            out[at++] = 127;
            long l = length;
            for (int shift = 56; shift >= 0; shift -= 8) {
                out[at++] = (byte) (l >>> shift);
            }
        }
        return at;
    }
}
