package dev.tandem.delta;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.tandem.delta.DeltaException.Reason;

import static dev.tandem.delta.Samples.text;
import static dev.tandem.delta.Samples.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FossilTest {
    private static void roundTrips(byte[] source, byte[] target, String what) {
        byte[] delta = Fossil.encode(source, target);
        assertArrayEquals(target, Fossil.apply(source, delta), what);
    }

    @Test
    void writesTheFormatFossilWrites() {
        // the same bytes Fossil 2.21's test-delta-create writes for these inputs
        byte[] original = utf8("hello world, this is the original text of the file\n");
        assertEquals("n\nP@0,P:changed text of the file\n37F~Qx;",
                text(Fossil.encode(original, utf8("hello world, this is the changed text of the file\n"))));
        assertEquals("3\n3:abc1XObC0;", text(Fossil.encode(original, utf8("abc"))));
        assertEquals("0\n0;", text(Fossil.encode(original, new byte[0])));
        assertEquals("o\no@0,2Y3ins;", text(Fossil.encode(original, original)));
        byte[] ones = new byte[8];
        Arrays.fill(ones, (byte) 0xFF);
        // two words of 0xFFFFFFFF: the checksum wraps at 2^32 (3~~~~z = 0xFFFFFFFE), not at 2^32-1
        assertArrayEquals(utf8("8\n8:\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u00003~~~~z;"),
                zeroesFor(Fossil.encode(original, ones), ones));
    }

    /** The delta with the literal's bytes zeroed, so that it can be compared with text. */
    private static byte[] zeroesFor(byte[] delta, byte[] literal) {
        byte[] copy = delta.clone();
        Arrays.fill(copy, 4, 4 + literal.length, (byte) 0);
        return copy;
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "6246, 1Xb", "4046, ~E", "2176, Y0", "3193528526, 2zMM3E", "4294967295, 3~~~~~"})
    void readsAndWritesNumbersInTheFormatsBase64(long value, String digits) {
        // the integer examples of the format's description, and the largest value
        byte[] declaresChecksum = utf8("0\n" + digits + ";");
        if (value == 0) {
            assertArrayEquals(new byte[0], Fossil.apply(new byte[0], declaresChecksum));
        } else {
            DeltaException e = assertThrows(DeltaException.class, () -> Fossil.apply(new byte[0], declaresChecksum));
            assertEquals(Reason.CHECKSUM_MISMATCH, e.reason());
            assertTrue(e.getMessage().endsWith("declares " + value), e.getMessage());
        }
        if (value < 10_000) { // the encoder writes the target's length as the header and the literal's count
            assertTrue(text(Fossil.encode(new byte[0], new byte[(int) value])).startsWith(digits + "\n" + (value > 0 ? digits + ":" : "0;")));
        }
    }

    @Test
    void theWindowHashIsTheRollingHashOfTheFormatsDescription() {
        Random r = new Random(5);
        byte[] ones = new byte[Encoder.WINDOW];
        Arrays.fill(ones, (byte) 0xFF); // the largest sums: no lane may carry into another
        for (byte[] bytes : new byte[][] {Samples.bytes(r, 4096), ones, new byte[Encoder.WINDOW], utf8(Samples.text(r, 2000, 40))}) {
            for (int at = 0; at + Encoder.WINDOW <= bytes.length; at++) {
                int a = 0;
                int b = 0;
                for (int i = 0; i < Encoder.WINDOW; i++) {
                    a += bytes[at + i] & 0xFF;
                    b += (Encoder.WINDOW - i) * (bytes[at + i] & 0xFF);
                }
                assertEquals((b & 0xFFFF) << 16 | (a & 0xFFFF), Encoder.hash(bytes, at), "at " + at);
            }
        }
    }

    @Test
    void aJsonDocumentWithOneFieldChangedBecomesCopyLiteralCopy() {
        String before = Samples.document(new Random(4096), 4096, 7, "draft");
        String after = before.replace("\"status\":\"draft\"", "\"status\":\"approved\"");
        byte[] delta = Fossil.encode(utf8(before), utf8(after));
        String d = text(delta);
        assertEquals(2, d.chars().filter(c -> c == '@').count(), d);
        assertTrue(d.contains(":approv") || d.contains(":pprov"), d);
        assertTrue(delta.length < 40, delta.length + " bytes: " + d);
        roundTrips(utf8(before), utf8(after), "document");
    }

    @Test
    void aStockLevelWithANewQuantityIsASmallFractionOfItsSize() {
        byte[] before = utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 24, 18.5, 12));
        byte[] after = utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 21, 18.5, 13));
        byte[] delta = Fossil.encode(before, after);
        assertTrue(delta.length * 4 < after.length, delta.length + " of " + after.length + ": " + text(delta));
        assertArrayEquals(after, Fossil.apply(before, delta));
    }

    @Test
    void roundTripsEmptyIdenticalAndCompletelyDifferentInputs() {
        Random r = new Random(7);
        byte[] some = Samples.bytes(r, 3000);
        byte[] other = Samples.bytes(r, 2000);
        roundTrips(new byte[0], new byte[0], "empty");
        roundTrips(new byte[0], some, "empty source");
        roundTrips(some, new byte[0], "empty target");
        roundTrips(some, some, "identical");
        roundTrips(some, other, "different");
        byte[] different = Fossil.encode(some, other);
        assertTrue(different.length < other.length + 16, "no worse than the whole target: " + different.length);
        String stock = Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 24, 18.5, 12);
        assertTrue(text(Fossil.encode(utf8(stock), utf8(stock))).matches("\\w+\n\\w+@0,\\w+;"), "identical: one copy");
        for (int n = 0; n <= 40; n++) { // around the window's size, on both sides
            roundTrips(Arrays.copyOf(some, n), Arrays.copyOfRange(some, 5, 5 + n), "length " + n);
            roundTrips(Arrays.copyOf(some, n), Arrays.copyOf(some, n), "identical of length " + n);
        }
    }

    @Test
    void roundTripsSeededRandomEditsOfTextJsonAndBytes() {
        for (int seed = 0; seed < 1500; seed++) {
            Random r = new Random(seed);
            switch (seed % 3) {
                case 0 -> {
                    String s = Samples.text(r, r.nextInt(3000), 1 + r.nextInt(80));
                    roundTrips(utf8(s), utf8(Samples.edit(r, s, r.nextInt(10), 1 + r.nextInt(50))), "text, seed " + seed);
                }
                case 1 -> {
                    String s = Samples.document(r, 200 + r.nextInt(6000), r.nextInt(1000), Samples.word(r, 5));
                    roundTrips(utf8(s), utf8(Samples.edit(r, s, 1 + r.nextInt(5), 1 + r.nextInt(20))), "json, seed " + seed);
                }
                default -> {
                    byte[] s = Samples.bytes(r, r.nextInt(3000));
                    roundTrips(s, Samples.edit(r, s, r.nextInt(10), 1 + r.nextInt(60)), "bytes, seed " + seed);
                }
            }
        }
    }

    @Test
    void roundTripsLargeInputs() {
        Random r = new Random(11);
        String big = Samples.text(r, 1 << 20, 2000);
        byte[] delta = Fossil.encode(utf8(big), utf8(Samples.edit(r, big, 50, 100)));
        assertTrue(delta.length < 40_000, "a megabyte with 50 small edits: " + delta.length + " bytes");
        roundTrips(utf8(big), utf8(Samples.edit(r, big, 50, 100)), "1 MiB text");
        byte[] noise = Samples.bytes(r, 1 << 20);
        roundTrips(noise, Samples.edit(r, noise, 30, 500), "1 MiB bytes");
        // long runs of one byte: hash chains where every block looks alike
        byte[] zeros = new byte[1 << 18];
        byte[] moreZeros = new byte[(1 << 18) + 3];
        roundTrips(zeros, moreZeros, "zeros");
        assertTrue(Fossil.encode(zeros, moreZeros).length < 40);
    }

    @Test
    void theDeltaOfUtf8TextIsUtf8Text() {
        // copies never split a character, so the delta can travel as a JSON string
        for (int seed = 0; seed < 800; seed++) {
            Random r = new Random(seed);
            String s = Samples.text(r, r.nextInt(2000), 1 + r.nextInt(30));
            byte[] delta = Fossil.encode(utf8(s), utf8(Samples.edit(r, s, 1 + r.nextInt(12), 1 + r.nextInt(20))));
            assertTrue(FossilVectorsTest.isUtf8(delta), "seed " + seed + ": " + text(delta));
        }
    }

    @Test
    void aDeltaAppliedToAnotherSourceFailsItsChecksum() {
        byte[] v1 = utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 24, 17.5, 12));
        byte[] v2 = utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 21, 18.5, 13));
        byte[] v3 = utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 19, 18.5, 14));
        byte[] delta = Fossil.encode(v2, v3);
        // a missed event (the price changed): the receiver still has v1 where the sender had v2, of the same length
        DeltaException e = assertThrows(DeltaException.class, () -> Fossil.apply(v1, delta));
        assertEquals(Reason.CHECKSUM_MISMATCH, e.reason());
        assertTrue(e.getMessage().startsWith("fossil delta checksum_mismatch: "), e.getMessage());
        // a shorter source: the copies no longer fit
        assertEquals(Reason.COPY_OUT_OF_RANGE,
                assertThrows(DeltaException.class, () -> Fossil.apply(Arrays.copyOf(v2, 100), delta)).reason());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // what the delta says                | why it is refused
            "3\\n3:abc1XObC1;                      | CHECKSUM_MISMATCH",
            "4\\n3:abc1XObC0;                      | SIZE_MISMATCH",
            "2\\n3:abc1XObC0;                      | SIZE_MISMATCH",
            "3\\n4@0,1XObC0;                       | COPY_OUT_OF_RANGE",
            "3\\n1@3,2@0,1XObC0;                   | COPY_OUT_OF_RANGE",
            "3\\n3:abc1XObC0                       | MALFORMED",
            "3\\n3:abc1XObC0;x                     | MALFORMED",
            "3\\n3:abc                             | MALFORMED",
            "3\\n4:abc                             | MALFORMED",
            "3\\n3!abc1XObC0;                      | MALFORMED",
            "3 3:abc1XObC0;                       | MALFORMED",
            "\\n3:abc1XObC0;                       | MALFORMED",
            "3\\n3:abc41XObC0;                     | MALFORMED",
            "3\\n3@                                | MALFORMED",
            "3\\n3@0                               | MALFORMED",
            "''                                   | MALFORMED",
            "4~~~~~\\n0;                           | MALFORMED",
            "1~~~~~\\n0;                           | SIZE_MISMATCH",
            "1~~~~\\n0;                            | SIZE_MISMATCH"})
    void refusesABrokenDeltaWithAStableReason(String delta, Reason reason) {
        byte[] source = utf8("xyz");
        DeltaException e = assertThrows(DeltaException.class, () -> Fossil.apply(source, utf8(delta.replace("\\n", "\n"))));
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().startsWith("fossil delta " + reason.wire() + ": "), e.getMessage());
    }

    @Test
    void aHugeDeclaredLengthAllocatesNothingUpFront() {
        // nearly 2^31 bytes declared, three made: refused without allocating two gigabytes first
        DeltaException e = assertThrows(DeltaException.class, () -> Fossil.apply(utf8("xyz"), utf8("1~~~~r\n3@0,0;")));
        assertEquals(Reason.SIZE_MISMATCH, e.reason(), e.getMessage());
    }

    @Test
    void aCopyOfLengthZeroCopiesNothing() {
        // as Fossil itself applies it (its description says "to the end of the source")
        assertArrayEquals(utf8("ab"), Fossil.apply(utf8("xyz"), utf8("2\n0@0,2:ab1XOW00;")));
    }

    @Test
    void reasonsHaveStableWireNames() {
        assertEquals("malformed copy_out_of_range size_mismatch checksum_mismatch",
                String.join(" ", Arrays.stream(Reason.values()).map(Reason::wire).toList()));
    }
}
