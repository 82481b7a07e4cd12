package dev.tandem.delta;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Makes a delta the way the Fossil format's description suggests, after rsync: the source is cut
 * into blocks of {@link #WINDOW} bytes indexed by a rolling hash; a window slides over the target
 * and, where its hash names source blocks, the longest common run around the window becomes a
 * copy and the bytes since the last copy a literal. A payload with one changed field so becomes a
 * copy, a literal holding the new value, and a copy.
 *
 * <p>Copies begin and end on UTF-8 character boundaries of the target (a boundary is any byte
 * but a continuation byte {@code 10xxxxxx}), so every literal holds whole characters and the
 * delta of a UTF-8 text is itself UTF-8 text, which can travel as a JSON string.
 */
final class Encoder {
    /** The block and window size; a power of two. */
    static final int WINDOW = 16;
    /** How many source blocks with the window's hash are compared at most, against long chains. */
    private static final int MAX_CANDIDATES = 250;
    private static final VarHandle BIG_ENDIAN_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    /** Every other byte of a long, so that four bytes sit in four 16-bit lanes. */
    private static final long LANES = 0x00FF_00FF_00FF_00FFL;
    /** Multipliers that gather four lanes into the top one: plainly, and weighted 8, 6, 4, 2 or 7, 5, 3, 1. */
    private static final long ONES = 0x0001_0001_0001_0001L;
    private static final long EVEN_WEIGHTS = 0x0002_0004_0006_0008L;
    private static final long ODD_WEIGHTS = 0x0001_0003_0005_0007L;

    private Encoder() {
    }

    static byte[] encode(byte[] source, byte[] target) {
        Output out = new Output(Math.min(target.length, 512) + 24);
        out.number(target.length);
        out.put('\n');
        int done = source.length > WINDOW && target.length >= WINDOW ? copies(new Index(source), source, target, out) : 0;
        if (done < target.length) {
            out.literal(target, done, target.length);
        }
        out.number(Format.checksum(target, target.length));
        out.put(';');
        return out.toArray();
    }

    /**
     * Writes the copies (and the literals between them) for the target, and answers how much of
     * the target they cover; the rest is left for one last literal.
     */
    private static int copies(Index index, byte[] source, byte[] target, Output out) {
        int end = target.length;
        int base = 0; // the first target byte not yet written
        while (base + WINDOW <= end) {
            int slide = base;
            int hash = hash(target, slide);
            int a = hash & 0xFFFF; // the rolling hash's two sums, exact: at most 16 * 255 and 136 * 255
            int b = hash >>> 16;
            while (true) {
                int bestLength = 0;
                int bestTarget = 0;
                int bestSource = 0;
                int tries = 0;
                for (int block = index.first(hash); block >= 0 && tries < MAX_CANDIDATES; block = index.next(block), tries++) {
                    if (index.blockHash(block) != hash) {
                        continue; // another hash in the same bucket
                    }
                    int s = block * WINDOW;
                    int ahead = commonAhead(source, s, target, slide);
                    if (ahead == 0) {
                        continue; // the same hash, other bytes
                    }
                    int behind = 0;
                    while (behind < slide - base && behind < s && source[s - behind - 1] == target[slide - behind - 1]) {
                        behind++;
                    }
                    int from = slide - behind;
                    int to = slide + ahead;
                    int shift = 0;
                    while (from < to && isContinuation(target[from])) {
                        from++;
                        shift++;
                    }
                    while (to > from && to < end && isContinuation(target[to])) {
                        to--;
                    }
                    if (to - from > bestLength) {
                        bestLength = to - from;
                        bestTarget = from;
                        bestSource = s - behind + shift;
                    }
                    if (behind == slide - base && (s + ahead == source.length || slide + ahead == end)) {
                        break; // later blocks start further on in the source: none can match more
                    }
                }
                if (bestLength > 0 && worthCopying(bestLength, bestSource, bestTarget - base)) {
                    if (bestTarget > base) {
                        out.literal(target, base, bestTarget);
                    }
                    out.copy(bestLength, bestSource);
                    base = bestTarget + bestLength;
                    break;
                }
                if (slide + WINDOW >= end) {
                    return base;
                }
                int leaving = target[slide] & 0xFF;
                a += (target[slide + WINDOW] & 0xFF) - leaving;
                b += a - WINDOW * leaving;
                hash = (b << 16) | a;
                slide++;
            }
        }
        return base;
    }

    /**
     * The rolling hash of {@code bytes[at, at + WINDOW)}, from the format's description: with
     * {@code z} those bytes, {@code A} the sum of {@code z[i]} and {@code B} the sum of
     * {@code (WINDOW - i) * z[i]}, the hash is {@code B << 16 | A}. Sliding the window one byte
     * on updates both sums from the byte leaving and the byte coming in, so only a window's first
     * hash is computed here, eight bytes at a time: each long is split into its even and odd bytes
     * in 16-bit lanes, and one multiplication sums the lanes, weighted or not, into the top lane
     * (every lane's total stays under 2^16, so no lane carries into the next).
     */
    static int hash(byte[] bytes, int at) {
        long first = (long) BIG_ENDIAN_LONG.get(bytes, at);
        long second = (long) BIG_ENDIAN_LONG.get(bytes, at + 8);
        int a1 = sum(first);
        int a2 = sum(second);
        int b = weightedSum(first) + 8 * a1 + weightedSum(second); // the first half's weights are 16..9
        return (b << 16) | (a1 + a2);
    }

    /** z0 + ... + z7 of the long's bytes z0 (highest) to z7. */
    private static int sum(long x) {
        return (int) ((((x >>> 8) & LANES) + (x & LANES)) * ONES >>> 48);
    }

    /** 8*z0 + 7*z1 + ... + 1*z7 of the long's bytes z0 (highest) to z7. */
    private static int weightedSum(long x) {
        return (int) ((((x >>> 8) & LANES) * EVEN_WEIGHTS + (x & LANES) * ODD_WEIGHTS) >>> 48);
    }

    /** How many bytes from {@code source[s]} and {@code target[t]} on are equal. */
    private static int commonAhead(byte[] source, int s, byte[] target, int t) {
        int m = Arrays.mismatch(source, s, source.length, target, t, target.length);
        return m >= 0 ? m : source.length - s;
    }

    /**
     * Whether a copy of {@code length} bytes, after a literal of {@code gap} bytes, is shorter
     * than leaving those bytes in a literal.
     */
    private static boolean worthCopying(int length, int offset, int gap) {
        int cost = Format.digitCount(length) + Format.digitCount(offset) + 2;
        if (gap > 0) {
            cost += Format.digitCount(gap) + 1;
        }
        return cost < length;
    }

    private static boolean isContinuation(byte b) {
        return (b & 0xC0) == 0x80;
    }

    /** The source's whole blocks by the rolling hash of their bytes, chained in hash buckets. */
    private static final class Index {
        private final int[] heads;
        private final int[] next;
        private final int[] hashes;
        private final int shift;

        Index(byte[] source) {
            int blocks = source.length / WINDOW;
            int bits = 33 - Integer.numberOfLeadingZeros(blocks - 1); // at least twice as many buckets as blocks
            heads = new int[1 << bits];
            Arrays.fill(heads, -1);
            next = new int[blocks];
            hashes = new int[blocks];
            shift = 32 - bits;
            for (int block = blocks - 1; block >= 0; block--) { // so that each chain runs in source order
                hashes[block] = hash(source, block * WINDOW);
                int bucket = bucket(hashes[block]);
                next[block] = heads[bucket];
                heads[bucket] = block;
            }
        }

        int first(int hash) {
            return heads[bucket(hash)];
        }

        int next(int block) {
            return next[block];
        }

        int blockHash(int block) {
            return hashes[block];
        }

        private int bucket(int hash) {
            return (hash * 0x9E3779B1) >>> shift; // the low bits alone are a plain byte sum: spread them
        }
    }

    /** A growing byte buffer that writes the format's numbers and commands. */
    private static final class Output {
        private byte[] bytes;
        private int size;

        Output(int capacity) {
            bytes = new byte[capacity];
        }

        void put(char c) {
            room(1);
            bytes[size++] = (byte) c;
        }

        void number(int unsigned) {
            int digits = Format.digitCount(unsigned);
            room(digits);
            for (int i = size + digits - 1; i >= size; i--) {
                bytes[i] = Format.DIGITS[unsigned & 63];
                unsigned >>>= 6;
            }
            size += digits;
        }

        void copy(int length, int offset) {
            number(length);
            put('@');
            number(offset);
            put(',');
        }

        void literal(byte[] from, int start, int end) {
            number(end - start);
            put(':');
            room(end - start);
            System.arraycopy(from, start, bytes, size, end - start);
            size += end - start;
        }

        byte[] toArray() {
            return Arrays.copyOf(bytes, size);
        }

        private void room(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
