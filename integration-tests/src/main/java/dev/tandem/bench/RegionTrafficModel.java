package dev.tandem.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Cross-region traffic of a multi-region deployment, calculated: how many publications cross
 * region boundaries per second, and how many bytes, as regions and gateway nodes are added.
 *
 * <p>Tandem's layout: a Redis Cluster per region carries fan-out inside the region, and Kafka
 * (mirrored between regions) is the only bus between regions, so a publication leaves its region
 * once per other region, whatever the number of nodes there. The alternative it is compared with
 * is one Redis shared by every region, where every node that holds the channel in another region
 * receives the publication over the inter-region link itself.
 *
 * <pre>
 * java -cp "integration-tests/target/classes:integration-tests/target/libs/*" \
 *      dev.tandem.bench.RegionTrafficModel [--rate 2000] [--bytes 500] [--holding 0.5]
 * </pre>
 * {@code --rate}: publications per second that originate in each region; {@code --bytes}: their
 * size on the wire; {@code --holding}: the share of a region's nodes with a subscriber to an
 * average channel.
 */
public final class RegionTrafficModel {
    private static final int[] REGIONS = {1, 2, 3, 5};
    private static final int[] NODES_PER_REGION = {3, 10, 30};

    private RegionTrafficModel() {
    }

    /** Options, with defaults. */
    record Options(double rate, int bytes, double holding) {
        static Options parse(String[] args) {
            Map<String, String> m = Bench.options(args);
            return new Options(Double.parseDouble(m.getOrDefault("rate", "2000")),
                    Integer.parseInt(m.getOrDefault("bytes", "500")),
                    Double.parseDouble(m.getOrDefault("holding", "0.5")));
        }
    }

    /** One row: cross-region publications per second, through Kafka and through one shared Redis. */
    record Row(int regions, int nodesPerRegion, double viaKafka, double viaSharedRedis) {
    }

    public static void main(String[] args) {
        Options o = Options.parse(args);
        print(o, rows(o));
    }

    /**
     * Every region publishes {@code rate}/s. Through Kafka each publication crosses once to every
     * other region: {@code R * rate * (R - 1)}. Through one shared Redis (in the first region) a
     * publication from elsewhere crosses to it once, and then once to every holding node outside
     * that region: {@code R * rate * (R - 1) / R} in plus {@code R * rate * holding * N * (R - 1)} out.
     */
    static List<Row> rows(Options o) {
        List<Row> rows = new ArrayList<>();
        for (int r : REGIONS) {
            for (int n : NODES_PER_REGION) {
                double viaKafka = r * o.rate * (r - 1);
                double toRedis = o.rate * (r - 1);
                double fromRedis = r * o.rate * Math.ceil(o.holding * n) * (r - 1);
                rows.add(new Row(r, n, viaKafka, toRedis + fromRedis));
            }
        }
        return rows;
    }

    static void print(Options o, List<Row> rows) {
        System.out.printf(Locale.ROOT, "%,.0f publications/s originate in each region, %d bytes each, %.0f%% of a "
                + "region's nodes hold an average channel%n", o.rate, o.bytes, 100 * o.holding);
        System.out.println("| regions | nodes per region | cross-region publications/s, region Redis + Kafka | MB/s "
                + "| same, one Redis for all regions | MB/s |");
        System.out.println("|---|---|---|---|---|---|");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %d | %d | %,.0f | %.1f | %,.0f | %.1f |%n", r.regions(), r.nodesPerRegion(),
                    r.viaKafka(), r.viaKafka() * o.bytes / 1e6, r.viaSharedRedis(), r.viaSharedRedis() * o.bytes / 1e6);
        }
    }
}
