package dev.tandem.delta;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Prints what delta compression costs and saves on streams of publications to one channel: the
 * nanoseconds one encode takes (once per publication on the gateway) and one apply takes (once
 * per event on a client), and the bytes of the payload whole against its delta, both as they
 * travel in a frame's {@code data} (a JSON string, so quotes are escaped).
 *
 * <pre>
 * mvn -q -pl api-contract/protocol -am test-compile
 * java -cp api-contract/target/classes:api-contract/target/test-classes dev.tandem.delta.FossilBench [ROUNDS]
 * </pre>
 */
public final class FossilBench {
    private static final String[][] DEMO_SKUS = {{"A-1", "Pallet wrap, 500 mm"}, {"B-7", "Cable ties, 200 pcs"},
        {"C-3", "Safety gloves, size L"}, {"D-9", "Barcode labels, roll"}};

    private FossilBench() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        List<Stream> streams = List.of(document(), stockOneSku(), stockLocation());
        System.out.printf("%-44s %8s %8s %8s %7s %10s %10s%n", "stream (256 publications, cycled)", "payload", "as data",
                "delta", "ratio", "encode ns", "apply ns");
        for (Stream s : streams) {
            s.measure(rounds);
        }
        System.out.println("payload: bytes of the JSON text; as data: the same as a JSON string (escaped quotes), the"
                + " form both whole payloads and deltas travel in on a delta subscription; delta: the delta as a JSON"
                + " string; ratio: delta / payload. Times: best of " + rounds + " rounds, per operation, one thread.");
    }

    /** A 4 KB document edited one field at a time, published whole as the gateway's {@code doc.changed} payload. */
    private static Stream document() {
        Random r = new Random(42);
        List<String> values = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            values.add(value(r, i));
        }
        List<byte[]> payloads = new ArrayList<>();
        for (int version = 1; version <= 256; version++) {
            int field = r.nextInt(values.size());
            values.set(field, value(r, field));
            StringBuilder data = new StringBuilder("{");
            for (int i = 0; i < values.size(); i++) {
                data.append(i == 0 ? "" : ",").append("\"field").append(i).append("\":").append(values.get(i));
            }
            data.append('}');
            payloads.add(Samples.utf8("{\"docType\":\"spec_sheet\",\"docId\":\"A-1@wh-7\",\"version\":" + version
                    + ",\"data\":" + data + ",\"updatedAt\":\"2026-11-22T10:" + (10 + version / 60) + ":" + (10 + version % 50)
                    + ".120Z\",\"updatedBy\":\"alice\",\"createdBy\":\"alice\",\"deleted\":false}"));
        }
        return new Stream("4 KB document, one field edited each time", payloads);
    }

    private static String value(Random r, int field) {
        return switch (field % 3) {
            case 0 -> Integer.toString(r.nextInt(100_000));
            case 1 -> "\"" + Samples.word(r, 6 + r.nextInt(20)) + "\"";
            default -> "{\"min\":" + r.nextInt(50) + ",\"unit\":\"pcs\"}";
        };
    }

    /** The demo board's {@code stock_level} changes of one SKU (its document channel). */
    private static Stream stockOneSku() {
        Random r = new Random(43);
        List<byte[]> payloads = new ArrayList<>();
        int qty = 24;
        for (int version = 1; version <= 256; version++) {
            qty = Math.max(0, qty + r.nextInt(11) - 5);
            payloads.add(Samples.utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", qty, 18.5, version)));
        }
        return new Stream("stock level, one SKU (doc channel)", payloads);
    }

    /** The demo board's location channel: the changes of its four SKUs, interleaved. */
    private static Stream stockLocation() {
        Random r = new Random(44);
        List<byte[]> payloads = new ArrayList<>();
        int[] qty = {24, 120, 40, 15};
        int[] version = {1, 1, 1, 1};
        for (int i = 0; i < 256; i++) {
            int k = r.nextInt(DEMO_SKUS.length);
            qty[k] = Math.max(0, qty[k] + r.nextInt(11) - 5);
            payloads.add(Samples.utf8(Samples.stockLevel(DEMO_SKUS[k][0], DEMO_SKUS[k][1], qty[k], 6.9 + k, ++version[k])));
        }
        return new Stream("stock level, four SKUs (location channel)", payloads);
    }

    private record Stream(String name, List<byte[]> payloads) {
        void measure(int rounds) {
            int n = payloads.size();
            byte[][] deltas = new byte[n][];
            long payload = 0;
            long asData = 0;
            long delta = 0;
            for (int i = 0; i < n; i++) {
                byte[] previous = payloads.get((i + n - 1) % n);
                deltas[i] = Fossil.encode(previous, payloads.get(i));
                payload += payloads.get(i).length;
                asData += jsonStringLength(payloads.get(i));
                delta += jsonStringLength(deltas[i]);
            }
            long sink = 0;
            double bestEncode = Double.MAX_VALUE;
            double bestApply = Double.MAX_VALUE;
            int perRound = Math.max(n, 20_000_000 / (int) (payload / n));
            for (int round = 0; round < rounds + 2; round++) { // the first two warm up
                long t0 = System.nanoTime();
                for (int k = 0; k < perRound; k++) {
                    int i = k % n;
                    sink += Fossil.encode(payloads.get((i + n - 1) % n), payloads.get(i)).length;
                }
                long t1 = System.nanoTime();
                for (int k = 0; k < perRound; k++) {
                    int i = k % n;
                    sink += Fossil.apply(payloads.get((i + n - 1) % n), deltas[i]).length;
                }
                long t2 = System.nanoTime();
                if (round >= 2) {
                    bestEncode = Math.min(bestEncode, (t1 - t0) / (double) perRound);
                    bestApply = Math.min(bestApply, (t2 - t1) / (double) perRound);
                }
            }
            System.out.printf("%-44s %8d %8d %8d %6.1f%% %10.0f %10.0f%s%n", name, payload / n, asData / n, delta / n,
                    100.0 * delta / payload, bestEncode, bestApply, sink == 42 ? " " : "");
        }
    }

    /** The length of the bytes written as a JSON string, quotes included (non-ASCII stays as it is). */
    static long jsonStringLength(byte[] b) {
        long n = 2;
        for (byte c : b) {
            n += switch (c) {
                case '"', '\\', '\n', '\r', '\t', '\b', '\f' -> 2;
                default -> c >= 0 && c < 0x20 ? 6 : 1;
            };
        }
        return n;
    }
}
