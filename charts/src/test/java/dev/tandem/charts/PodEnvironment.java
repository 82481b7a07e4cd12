package dev.tandem.charts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.config.EnvironmentVariables;
import io.helidon.config.spi.ConfigSource;

import static dev.tandem.charts.Chart.asList;
import static dev.tandem.charts.Chart.asMap;
import static dev.tandem.charts.Chart.get;

/**
 * What a rendered gateway pod would see, rebuilt on this machine: its environment variables
 * (Secret references resolved to stand-in values, as the kubelet would resolve them to the
 * real ones), the ConfigMap file its {@code TANDEM_CONFIG_FILE} points at, and from those the
 * gateway configuration assembled exactly as the gateway's own loader does: environment
 * variables through Helidon's mapping ({@code TANDEM_AUTH_HS256_dash_SECRET} →
 * {@code tandem.auth.hs256-secret}), over the file, over the defaults bundled in the gateway
 * jar.
 */
final class PodEnvironment {
    private final Chart.Rendered rendered;
    private final Map<String, String> env = new LinkedHashMap<>();
    private final Map<String, String> secretEnv = new LinkedHashMap<>();
    private final Path configFile;

    /**
     * @param rendered     the render
     * @param secretValues stand-in Secret contents by {@code secretName/key}; a reference not
     *                     listed gets a generated value
     * @param workDir      where the mounted ConfigMap file is written
     */
    PodEnvironment(Chart.Rendered rendered, Map<String, String> secretValues, Path workDir) {
        this.rendered = rendered;
        for (Map<String, Object> var : rendered.env()) {
            String name = (String) var.get("name");
            if (var.containsKey("value")) {
                env.put(name, String.valueOf(var.get("value")));
            } else if (Chart.at(var, "valueFrom.secretKeyRef").isPresent()) {
                String ref = get(var, "valueFrom.secretKeyRef.name") + "/" + get(var, "valueFrom.secretKeyRef.key");
                String value = secretValues.getOrDefault(ref, "stand-in-for-" + ref + "-padded-to-32-bytes-and-more");
                env.put(name, value);
                secretEnv.put(name, value);
            } else if (Chart.at(var, "valueFrom.fieldRef").isPresent()) {
                env.put(name, "field-" + get(var, "valueFrom.fieldRef.fieldPath"));
            } else {
                throw new AssertionError("env var " + name + " has neither value nor a known valueFrom: " + var);
            }
        }
        this.configFile = writeMountedConfig(workDir);
    }

    /** The container's environment (Secret references resolved to stand-ins). */
    Map<String, String> env() {
        return env;
    }

    /** The variables whose value came from a Secret reference. */
    Map<String, String> secretEnv() {
        return secretEnv;
    }

    /**
     * The gateway configuration the pod would run with; {@code overrides} (config keys) go on
     * top, for what a test cannot reproduce (a port already taken on this machine).
     */
    Config config(Map<String, String> overrides) {
        List<Supplier<? extends ConfigSource>> sources = new ArrayList<>();
        if (!overrides.isEmpty()) {
            sources.add(ConfigSources.create(overrides));
        }
        // the order of GatewayConfig.load(): environment, then TANDEM_CONFIG_FILE, then defaults
        sources.add(ConfigSources.create(EnvironmentVariables.expand(env)));
        sources.add(ConfigSources.file(configFile));
        sources.add(ConfigSources.classpath("application.yaml"));
        return Config.builder()
                .disableSystemPropertiesSource()
                .disableEnvironmentVariablesSource()
                .sources(sources)
                .build();
    }

    /**
     * Resolves {@code TANDEM_CONFIG_FILE} against the container's volume mounts: it must name a
     * key of the rendered ConfigMap mounted from the Deployment's volumes. Writes that key's
     * content where the test can read it.
     */
    private Path writeMountedConfig(Path workDir) {
        String file = env.get("TANDEM_CONFIG_FILE");
        if (file == null) {
            throw new AssertionError("the container has no TANDEM_CONFIG_FILE, so the ConfigMap is never read");
        }
        Path path = Path.of(file);
        String mountPath = path.getParent().toString();
        Map<String, Object> mount = asList(rendered.container().get("volumeMounts")).stream().map(Chart::asMap)
                .filter(m -> mountPath.equals(m.get("mountPath"))).findFirst()
                .orElseThrow(() -> new AssertionError("nothing is mounted at " + mountPath));
        Map<String, Object> volume = asList(rendered.podSpec().get("volumes")).stream().map(Chart::asMap)
                .filter(v -> mount.get("name").equals(v.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + mount.get("name")));
        Map<String, Object> cm = rendered.gatewayConfigMap();
        if (!get(cm, "metadata.name").equals(get(volume, "configMap.name"))) {
            throw new AssertionError("volume " + volume + " is not the gateway ConfigMap " + get(cm, "metadata.name"));
        }
        String key = path.getFileName().toString();
        Object content = asMap(cm.get("data")).get(key);
        if (content == null) {
            throw new AssertionError("the ConfigMap has no key " + key + " for TANDEM_CONFIG_FILE=" + file);
        }
        try {
            Path out = workDir.resolve(key);
            Files.writeString(out, (String) content, StandardCharsets.UTF_8);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
