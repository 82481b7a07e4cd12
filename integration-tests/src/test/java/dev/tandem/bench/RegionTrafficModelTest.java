package dev.tandem.bench;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The region model's claim: cross-region traffic grows with regions, not with nodes (and one shared Redis grows with both). */
class RegionTrafficModelTest {
    @Test
    void crossRegionTrafficGrowsWithRegionsNotNodes() {
        RegionTrafficModel.Options o = RegionTrafficModel.Options.parse(new String[0]);
        List<RegionTrafficModel.Row> rows = RegionTrafficModel.rows(o);
        RegionTrafficModel.print(o, rows);
        for (RegionTrafficModel.Row r : rows) {
            RegionTrafficModel.Row fewest = rows.stream().filter(x -> x.regions() == r.regions()).findFirst().orElseThrow();
            assertEquals(fewest.viaKafka(), r.viaKafka(), "independent of nodes per region: " + r);
            if (r.regions() == 1) {
                assertEquals(0.0, r.viaKafka() + r.viaSharedRedis(), "one region: nothing crosses");
            } else if (r.nodesPerRegion() > fewest.nodesPerRegion()) {
                assertTrue(r.viaSharedRedis() > fewest.viaSharedRedis(), "one shared Redis grows with nodes: " + r);
            }
        }
        double two = rows.stream().filter(x -> x.regions() == 2).findFirst().orElseThrow().viaKafka();
        double five = rows.stream().filter(x -> x.regions() == 5).findFirst().orElseThrow().viaKafka();
        assertEquals(10.0, five / two, 1e-9, "R * (R - 1): 20 / 2");
    }
}
