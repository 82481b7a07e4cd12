package dev.tandem.delta;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Seeded inputs for the delta tests and the benchmark: JSON payloads, text in many scripts, bytes, and edits of them. */
final class Samples {
    /** Characters from one to four UTF-8 bytes, JSON's own punctuation, a combining mark and a zero-width joiner. */
    private static final String[] PIECES = {"a", "Z", "7", " ", "\"", "{", ":", ",", "\\", "é", "ß", "€", "中", "文", "ア",
        "😀", "👩‍💻", "𐀀", "e\u0301", "\u200d", "\n", "\t"};

    private Samples() {
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** A document as the gateway publishes it, its {@code data} grown with fields until the whole is about {@code bytes} long. */
    static String document(Random r, int bytes, int version, String changedValue) {
        StringBuilder data = new StringBuilder("{\"sku\":\"A-1\",\"title\":\"Pallet wrap, 500 mm\",\"status\":\"")
                .append(changedValue).append('"');
        Random fields = new Random(r.nextLong());
        for (int i = 0; data.length() < bytes - 200; i++) {
            data.append(",\"field").append(i).append("\":");
            switch (i % 4) {
                case 0 -> data.append(fields.nextInt(100_000));
                case 1 -> data.append('"').append(word(fields, 4 + fields.nextInt(24))).append('"');
                case 2 -> data.append(fields.nextBoolean());
                default -> data.append("{\"min\":").append(fields.nextInt(50)).append(",\"unit\":\"pcs\"}");
            }
        }
        data.append('}');
        return "{\"docType\":\"spec_sheet\",\"docId\":\"A-1@wh-7\",\"version\":" + version + ",\"data\":" + data
                + ",\"updatedAt\":\"2026-11-22T10:00:" + twoDigits(version % 60) + ".120Z\","
                + "\"updatedBy\":\"alice\",\"createdBy\":\"alice\",\"deleted\":false}";
    }

    /** A {@code doc.changed} payload of the demo board's {@code stock_level} documents (about 230 bytes). */
    static String stockLevel(String sku, String name, int qty, double price, int version) {
        return "{\"docType\":\"stock_level\",\"docId\":\"" + sku + "@wh-7\",\"version\":" + version + ",\"data\":{\"sku\":\"" + sku
                + "\",\"name\":\"" + name + "\",\"qty\":" + qty + ",\"price\":" + price + ",\"locationId\":\"wh-7\"},"
                + "\"updatedAt\":\"2026-11-22T10:" + twoDigits(version / 60 % 60) + ":" + twoDigits(version % 60)
                + ".481Z\",\"updatedBy\":\"alice\",\"createdBy\":\"alice\",\"deleted\":false}";
    }

    /** Lower-case ASCII letters. */
    static String word(Random r, int length) {
        StringBuilder b = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            b.append((char) ('a' + r.nextInt(26)));
        }
        return b.toString();
    }

    /** Text of about {@code pieces} characters mixing ASCII with multi-byte characters; repetitive when {@code words} is small. */
    static String text(Random r, int pieces, int words) {
        String[] vocabulary = new String[Math.max(1, words)];
        for (int i = 0; i < vocabulary.length; i++) {
            StringBuilder w = new StringBuilder();
            for (int k = 1 + r.nextInt(8); k > 0; k--) {
                w.append(PIECES[r.nextInt(PIECES.length)]);
            }
            vocabulary[i] = w.toString();
        }
        StringBuilder b = new StringBuilder();
        while (b.length() < pieces) {
            b.append(vocabulary[r.nextInt(vocabulary.length)]);
        }
        return b.toString();
    }

    static byte[] bytes(Random r, int length) {
        byte[] b = new byte[length];
        r.nextBytes(b);
        return b;
    }

    /** {@code s} with {@code edits} random inserts, deletions and replacements of up to {@code span} characters. */
    static String edit(Random r, String s, int edits, int span) {
        StringBuilder b = new StringBuilder(s);
        for (int i = 0; i < edits; i++) {
            int at = codePointBoundary(b, r.nextInt(b.length() + 1));
            int end = codePointBoundary(b, Math.min(b.length(), at + 1 + r.nextInt(span)));
            String fresh = text(r, 1 + r.nextInt(span), 40);
            switch (r.nextInt(3)) {
                case 0 -> b.insert(at, fresh);
                case 1 -> b.delete(at, end);
                default -> b.replace(at, end, fresh);
            }
        }
        return b.toString();
    }

    /** {@code s} with {@code edits} random byte-level inserts, deletions and replacements of up to {@code span} bytes. */
    static byte[] edit(Random r, byte[] s, int edits, int span) {
        byte[] b = s;
        for (int i = 0; i < edits; i++) {
            int at = r.nextInt(b.length + 1);
            int cut = Math.min(b.length - at, r.nextInt(span + 1));
            byte[] fresh = r.nextInt(3) == 1 ? new byte[0] : bytes(r, 1 + r.nextInt(span));
            byte[] next = new byte[b.length - cut + fresh.length];
            System.arraycopy(b, 0, next, 0, at);
            System.arraycopy(fresh, 0, next, at, fresh.length);
            System.arraycopy(b, at + cut, next, at + fresh.length, b.length - at - cut);
            b = next;
        }
        return b;
    }

    private static String twoDigits(int n) {
        return n < 10 ? "0" + n : Integer.toString(n);
    }

    private static int codePointBoundary(CharSequence s, int i) {
        return i > 0 && i < s.length() && Character.isLowSurrogate(s.charAt(i)) ? i - 1 : i;
    }
}
