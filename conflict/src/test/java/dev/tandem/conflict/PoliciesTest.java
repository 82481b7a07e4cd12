package dev.tandem.conflict;

import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.document.Strategy;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoliciesTest {

    @Test
    void unknownTypesGetTheBuiltInDefault() {
        Policies p = Policies.create(Config.empty());
        assertEquals(Policy.DEFAULT, p.of("anything"));
        assertTrue(Policy.DEFAULT.merge());
        assertEquals(Strategy.LAST_WRITE_WINS, Policy.DEFAULT.strategy());
    }

    @Test
    void aConfiguredDefaultAppliesToUnlistedTypesAndIsTheBaseOfListedOnes() {
        Policies p = policies(Map.of(
                "default.strategy", "server-wins",
                "stock_level.counters.0", "quantity",
                "stock_level.invariants.0", "quantity >= 0",
                "task.merge", "false",
                "task.strategy", "manual"));
        assertEquals(Strategy.SERVER_WINS, p.of("unlisted").strategy());
        Policy stock = p.of("stock_level");
        assertEquals(Strategy.SERVER_WINS, stock.strategy(), "inherited from default");
        assertEquals(Set.of("quantity"), stock.counters());
        assertEquals("quantity >= 0", stock.invariants().getFirst().text());
        Policy task = p.of("task");
        assertFalse(task.merge());
        assertEquals(Strategy.MANUAL, task.strategy());
    }

    @Test
    void badValuesFailAtStartNamingTheType() {
        var e = assertThrows(IllegalArgumentException.class, () -> policies(Map.of("task.strategy", "coin-flip")));
        assertTrue(e.getMessage().contains("task"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> policies(Map.of("task.strategy", "merge")));
        assertThrows(IllegalArgumentException.class, () -> policies(Map.of("task.invariants.0", "quantity is positive")));
        assertThrows(IllegalArgumentException.class, () -> policies(Map.of("task.channels.0", "bad name!{x}")));
    }

    @Test
    void invariantsCompareNumbers() {
        ObjectNode ok = Json.object().put("q", 0);
        assertTrue(Invariant.parse("q >= 0").check(ok).isEmpty());
        assertFalse(Invariant.parse("q > 0").check(ok).isEmpty());
        assertTrue(Invariant.parse("q <= 1.5").check(ok).isEmpty());
        assertFalse(Invariant.parse("q != 0").check(ok).isEmpty());
        assertTrue(Invariant.parse("q == 0").check(ok).isEmpty());
        assertTrue(Invariant.parse("missing < 0").check(ok).isEmpty(), "an absent field passes");
        assertFalse(Invariant.parse("q >= 0").check(Json.object().put("q", "x")).isEmpty());
    }

    @Test
    void channelTemplatesTakeIdsFromTheDataAndSkipWhatIsMissingOrInvalid() {
        Policy p = new Policy(true, Strategy.MANUAL, Set.of(), List.of(),
                List.of("location:{locationId}", "project:{projectId}", "workspace:{ws}"));
        ObjectNode data = Json.object().put("locationId", "wh-7").put("ws", "not valid!");
        assertEquals(List.of("location:wh-7"), p.channelsFor(data).stream().map(Object::toString).toList());
    }

    private static Policies policies(Map<String, String> types) {
        return Policies.create(Config.just(ConfigSources.create(types)));
    }
}
