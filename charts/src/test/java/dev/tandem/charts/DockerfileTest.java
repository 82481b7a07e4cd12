package dev.tandem.charts;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static dev.tandem.charts.Chart.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The image cannot be built here (no Docker engine), so this checks the Dockerfile against the
 * two things it must agree with: the gateway's build (jar name and manifest Class-Path folder,
 * i.e. the launcher's layout) and the chart (user id, port, working directory, JVM flags).
 */
class DockerfileTest {
    private static final Path ROOT = Chart.dir().getParent().getParent();

    private static String dockerfile() throws Exception {
        return Files.readString(ROOT.resolve("Dockerfile"));
    }

    @Test
    void imageUsesTheLaunchersLayout() throws Exception {
        String gatewayPom = Files.readString(ROOT.resolve("gateway/pom.xml"));
        String jar = group(gatewayPom, "<finalName>([^<]+)</finalName>") + ".jar";
        String libs = group(gatewayPom, "<classpathPrefix>([^<]+)</classpathPrefix>");
        String df = dockerfile();
        assertTrue(df.contains("COPY --from=build /src/gateway/target/" + jar + " /app/" + jar), "gateway jar at /app/" + jar);
        assertTrue(df.contains("COPY --from=build /src/gateway/target/libs/ /app/" + libs),
                "dependencies where the manifest Class-Path (" + libs + ") finds them");
        assertTrue(df.contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/" + jar + "\"]"), "exec-form java -jar entrypoint");
        assertTrue(df.contains("mvn -B -ntp -DskipTests -pl gateway -am package"));
        assertFalse(Pattern.compile("(?m)^\\s*HEALTHCHECK").matcher(df).find(), "Kubernetes probes, not a Docker HEALTHCHECK");
        // JRE 21 or newer at runtime
        int java = Integer.parseInt(group(df, "ARG JAVA_VERSION=(\\d+)"));
        assertTrue(java >= 21);
        assertTrue(df.contains("FROM eclipse-temurin:${JAVA_VERSION}-jre"));
    }

    @Test
    void imageAgreesWithTheChart() throws Exception {
        String df = dockerfile();
        Chart.Rendered r = Chart.renderDefaults();
        Map<String, Object> c = r.container();
        int uid = Integer.parseInt(group(df, "(?m)^USER (\\d+):\\d+$"));
        assertTrue(uid > 0, "non-root user");
        assertEquals(uid, ((Number) get(c, "securityContext.runAsUser")).intValue(), "chart runs the image's user");
        assertEquals(String.valueOf(r.containerPort("http")), group(df, "(?m)^EXPOSE (\\d+)$"));
        assertEquals(get(c, "workingDir"), group(df, "(?m)^WORKDIR (/app)$"));
        assertTrue(group(df, "JAVA_TOOL_OPTIONS=\"([^\"]+)\"").contains("-XX:MaxRAMPercentage=75"));
        assertTrue(df.contains("chown tandem:tandem /app/data"), "the data folder belongs to the runtime user");
        // .dockerignore keeps build output out, but every pom the reactor reads stays in
        List<String> ignore = Files.readAllLines(ROOT.resolve(".dockerignore"));
        assertTrue(ignore.contains("**/target"));
        assertFalse(ignore.contains("charts") || ignore.contains("charts/pom.xml"), "the reactor needs charts/pom.xml");
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex);
        return m.group(1);
    }
}
