package dev.tandem.delta;

import java.util.Arrays;

import dev.tandem.delta.DeltaException.Reason;

/** Applies a delta to its source, refusing anything outside the format and any result that fails its checks. */
final class Decoder {
    private final byte[] source;
    private final byte[] delta;
    private int at;
    private byte[] out;
    private int size;

    private Decoder(byte[] source, byte[] delta) {
        this.source = source;
        this.delta = delta;
    }

    static byte[] apply(byte[] source, byte[] delta) {
        return new Decoder(source, delta).run();
    }

    private byte[] run() {
        long declared = number();
        expect('\n');
        if (declared > Integer.MAX_VALUE - 8) {
            throw fail(Reason.SIZE_MISMATCH, "declares " + declared + " bytes, more than an array holds");
        }
        int length = (int) declared;
        // a delta is rarely much longer than its source and literals together: grow beyond only when it is
        out = new byte[(int) Math.min(length, (long) source.length + delta.length)];
        while (true) {
            long count = number();
            if (at >= delta.length) {
                throw fail(Reason.MALFORMED, "ends after a number at byte " + at);
            }
            byte command = delta[at++];
            switch (command) {
                case '@' -> {
                    long offset = number();
                    expect(',');
                    if (offset + count > source.length) {
                        throw fail(Reason.COPY_OUT_OF_RANGE, "copies " + count + " bytes from " + offset
                                + " of a source of " + source.length);
                    }
                    append(source, (int) offset, count, length);
                }
                case ':' -> {
                    if (count > delta.length - at) {
                        throw fail(Reason.MALFORMED, "a literal of " + count + " bytes runs past the end");
                    }
                    append(delta, at, count, length);
                    at += (int) count;
                }
                case ';' -> {
                    if (at != delta.length) {
                        throw fail(Reason.MALFORMED, (delta.length - at) + " bytes after the checksum");
                    }
                    if (size != length) {
                        throw fail(Reason.SIZE_MISMATCH, "makes " + size + " bytes, declares " + length);
                    }
                    int sum = Format.checksum(out, size);
                    if (sum != (int) count) {
                        throw fail(Reason.CHECKSUM_MISMATCH, "checksum " + Integer.toUnsignedString(sum)
                                + ", declares " + count);
                    }
                    return out.length == size ? out : Arrays.copyOf(out, size);
                }
                default -> throw fail(Reason.MALFORMED, "unknown command byte " + (command & 0xFF) + " at " + (at - 1));
            }
        }
    }

    private void append(byte[] from, int start, long count, int length) {
        if (count > length - size) {
            throw fail(Reason.SIZE_MISMATCH, "makes more than the " + length + " bytes it declares");
        }
        int n = (int) count;
        if (size + n > out.length) {
            out = Arrays.copyOf(out, (int) Math.min(length, Math.max(2L * out.length, size + n)));
        }
        System.arraycopy(from, start, out, size, n);
        size += n;
    }

    /** An unsigned 32-bit number of one or more digits. */
    private long number() {
        int start = at;
        long value = 0;
        int digit;
        while (at < delta.length && (digit = Format.digitValue(delta[at])) >= 0) {
            value = (value << 6) | digit;
            if (value > 0xFFFF_FFFFL) {
                throw fail(Reason.MALFORMED, "a number over 32 bits at byte " + start);
            }
            at++;
        }
        if (at == start) {
            throw fail(Reason.MALFORMED, at < delta.length ? "no number at byte " + at : "ends at byte " + at + " where a number belongs");
        }
        return value;
    }

    private void expect(char c) {
        if (at >= delta.length || delta[at] != c) {
            throw fail(Reason.MALFORMED, "expected '" + c + "' at byte " + at);
        }
        at++;
    }

    private static DeltaException fail(Reason reason, String detail) {
        return new DeltaException(reason, "fossil delta " + reason.wire() + ": " + detail);
    }
}
