package dev.tandem.delta;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The pieces of the Fossil delta format that the encoder and the decoder share.
 *
 * <p>A delta is {@code LENGTH "\n"}, then commands ({@code COUNT "@" OFFSET ","} copies
 * {@code COUNT} bytes of the source from {@code OFFSET}; {@code COUNT ":" BYTES} inserts
 * {@code COUNT} literal bytes), then {@code CHECKSUM ";"}. Numbers are unsigned 32-bit values
 * written in base 64 with the digits of {@link #DIGITS}, most significant first, without leading
 * zeros. The checksum is the sum, modulo 2<sup>32</sup>, of the target read as big-endian 32-bit
 * words, the last one padded with zero bytes. (The format's own description says modulo
 * 2<sup>32</sup>-1, but Fossil itself, and so every delta it made, wraps at 2<sup>32</sup>. It also
 * gives a copy of length 0 the meaning "to the end of the source", which Fossil does not: such a
 * copy copies nothing, here as there, and no encoder writes one.)
 */
final class Format {
    /** The 64 digits, in order of value: not RFC 4648's alphabet. */
    static final byte[] DIGITS =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** A digit's value by its byte, -1 for a byte that is no digit. */
    private static final byte[] VALUES = new byte[256];
    private static final VarHandle BIG_ENDIAN_INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    static {
        java.util.Arrays.fill(VALUES, (byte) -1);
        for (int i = 0; i < DIGITS.length; i++) {
            VALUES[DIGITS[i]] = (byte) i;
        }
    }

    private Format() {
    }

    /** The value of a digit byte, or -1. */
    static int digitValue(byte b) {
        return VALUES[b & 0xFF];
    }

    /** How many digits the unsigned 32-bit value {@code v} takes. */
    static int digitCount(int v) {
        int bits = 32 - Integer.numberOfLeadingZeros(v);
        return bits == 0 ? 1 : (bits + 5) / 6;
    }

    /** The checksum of {@code bytes[0..length)}, as an unsigned 32-bit value in an int. */
    static int checksum(byte[] bytes, int length) {
        int sum = 0;
        int whole = length & ~3;
        for (int i = 0; i < whole; i += 4) {
            sum += (int) BIG_ENDIAN_INT.get(bytes, i);
        }
        int shift = 24;
        int last = 0;
        for (int i = whole; i < length; i++, shift -= 8) {
            last |= (bytes[i] & 0xFF) << shift;
        }
        return sum + last;
    }
}
