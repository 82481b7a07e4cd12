package dev.tandem.charts;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The chart runs the gateway with the launcher's GC flags ({@code GATEWAY_GC_OPTS} in
 * {@code ./tandem}), the options the connection-scale figures were measured with.
 */
class JvmOptionsTest {
    private static final Path ROOT = Chart.dir().getParent().getParent();

    @Test
    void chartPodsGetTheLaunchersGcFlags() throws Exception {
        Matcher m = Pattern.compile("(?m)^GATEWAY_GC_OPTS=\"([^\"]+)\"$").matcher(Files.readString(ROOT.resolve("tandem")));
        assertTrue(m.find(), "GATEWAY_GC_OPTS in ./tandem");
        List<String> launcher = List.of(m.group(1).trim().split("\\s+"));
        assertFalse(launcher.isEmpty());
        String options = Chart.renderDefaults().env().stream().filter(v -> "JAVA_TOOL_OPTIONS".equals(v.get("name")))
                .map(v -> String.valueOf(v.get("value"))).findFirst()
                .orElseThrow(() -> new AssertionError("no JAVA_TOOL_OPTIONS in the pod"));
        List<String> chart = List.of(options.trim().split("\\s+"));
        for (String flag : launcher) {
            assertTrue(chart.contains(flag), "the chart's JAVA_TOOL_OPTIONS " + chart + " lack the launcher's " + flag);
        }
    }
}
