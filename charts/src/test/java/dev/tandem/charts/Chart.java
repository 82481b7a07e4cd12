package dev.tandem.charts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The chart under test, driven through the Helm library embedded by helm-java (no helm binary,
 * cluster or Docker). Renders are cached per values file because each one costs a call into
 * the native Helm library, and several test classes read the same render.
 */
final class Chart {
    /** Release name every render uses; object names derive from it ({@code tandem}). */
    static final String RELEASE = "tandem";
    /** Namespace every render uses. */
    static final String NAMESPACE = "apps";
    /**
     * helm-java's embedded Helm assumes Kubernetes v1.20 for {@code helm template}, below the
     * chart's {@code kubeVersion} floor (policy/v1 PDB, autoscaling/v2 HPA); a real install
     * uses the cluster's version, so the tests pin a current one.
     */
    static final String KUBE_VERSION = "1.30.0";

    private static final Map<String, Rendered> CACHE = new ConcurrentHashMap<>();

    private Chart() {
    }

    /** The chart directory ({@code charts/tandem}). */
    static Path dir() {
        Path dir = Path.of(System.getProperty("tandem.chart.dir", "tandem")).toAbsolutePath().normalize();
        if (!Files.isRegularFile(dir.resolve("Chart.yaml"))) {
            throw new IllegalStateException("no Chart.yaml in " + dir + " (set -Dtandem.chart.dir)");
        }
        return dir;
    }

    /** {@code ci/production-values.yaml} of the chart. */
    static Path productionValues() {
        return dir().resolve("ci/production-values.yaml");
    }

    /** A values file from the test resources ({@code src/test/resources/NAME}). */
    static Path testValues(String name) {
        try {
            return Path.of(Chart.class.getResource("/" + name).toURI());
        } catch (Exception e) {
            throw new IllegalStateException("test resource " + name + " is missing", e);
        }
    }

    /** Renders with the chart's defaults (cached). */
    static Rendered renderDefaults() {
        return CACHE.computeIfAbsent("<defaults>", k -> new Rendered(template(null, Map.of())));
    }

    /** Renders with a values file over the defaults (cached). */
    static Rendered render(Path values) {
        return CACHE.computeIfAbsent(values.toString(), k -> new Rendered(template(values, Map.of())));
    }

    /**
     * Runs {@code helm template} and returns the manifests as text. Helm failures (schema
     * violations, {@code fail} in a template) surface as {@link IllegalStateException} with
     * Helm's message.
     */
    static String template(Path values, Map<String, Object> sets) {
        TemplateCommand cmd = new Helm(dir()).template()
                .withName(RELEASE)
                .withNamespace(NAMESPACE)
                .withKubeVersion(KUBE_VERSION);
        if (values != null) {
            cmd = cmd.withValuesFile(values);
        }
        for (Map.Entry<String, Object> e : sets.entrySet()) {
            cmd = cmd.set(e.getKey(), e.getValue());
        }
        return cmd.call();
    }

    /** {@code helm lint --strict} on the chart as it is (its own values.yaml). */
    static LintResult lintDefaults() {
        return new Helm(dir()).lint().strict().call();
    }

    /**
     * {@code helm lint --strict} with a values file over the defaults. helm-java's lint command
     * takes no values file, so the chart is copied to a temporary directory whose values.yaml
     * is the deep merge of the chart's values and the file: the same values Helm would compute
     * for {@code helm lint -f FILE}.
     */
    static LintResult lintWith(Path values) {
        Path copy = copyChart();
        try {
            Map<String, Object> merged = deepMerge(loadMap(dir().resolve("values.yaml")), loadMap(values));
            DumperOptions options = new DumperOptions();
            options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
            Files.writeString(copy.resolve("values.yaml"), new Yaml(options).dump(merged));
            return new Helm(copy).lint().strict().call();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(copy);
        }
    }

    static Map<String, Object> loadMap(Path file) {
        try {
            Object o = yaml().load(Files.readString(file));
            return o == null ? new LinkedHashMap<>() : asMap(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A YAML parser that builds only plain maps, lists and scalars. */
    static Yaml yaml() {
        return new Yaml(new SafeConstructor(new LoaderOptions()));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> asMap(Object o) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new AssertionError("expected a mapping but got " + o);
        }
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    static List<Object> asList(Object o) {
        if (o == null) {
            return List.of();
        }
        if (!(o instanceof List<?> l)) {
            throw new AssertionError("expected a list but got " + o);
        }
        return (List<Object>) l;
    }

    /** The value at a dotted path of nested maps, if every step exists. */
    static Optional<Object> at(Object root, String dotted) {
        Object cur = root;
        for (String step : dotted.split("\\.")) {
            if (!(cur instanceof Map<?, ?> m) || !m.containsKey(step)) {
                return Optional.empty();
            }
            cur = m.get(step);
        }
        return Optional.ofNullable(cur);
    }

    /** Like {@link #at} but the path must exist. */
    static Object get(Object root, String dotted) {
        return at(root, dotted).orElseThrow(() -> new AssertionError("missing " + dotted + " in " + root));
    }

    private static Map<String, Object> deepMerge(Map<String, Object> base, Map<String, Object> over) {
        Map<String, Object> out = new LinkedHashMap<>(base);
        over.forEach((k, v) -> {
            Object b = out.get(k);
            out.put(k, b instanceof Map<?, ?> && v instanceof Map<?, ?> ? deepMerge(asMap(b), asMap(v)) : v);
        });
        return out;
    }

    private static Path copyChart() {
        try {
            Path target = Files.createTempDirectory("tandem-chart-").resolve("tandem");
            Path source = dir();
            try (Stream<Path> files = Files.walk(source)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Path t = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                    } else {
                        Files.copy(p, t);
                    }
                }
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir.getParent())) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temp directory is harmless
        }
    }

    /** The objects of one render, parsed. */
    static final class Rendered {
        private final String text;
        private final List<Map<String, Object>> objects = new ArrayList<>();

        Rendered(String text) {
            this.text = text;
            for (Object doc : yaml().loadAll(text)) {
                if (doc != null) {
                    objects.add(asMap(doc));
                }
            }
        }

        /** The manifests as Helm printed them. */
        String text() {
            return text;
        }

        List<Map<String, Object>> objects() {
            return objects;
        }

        List<Map<String, Object>> all(String kind) {
            return objects.stream().filter(o -> kind.equals(o.get("kind"))).toList();
        }

        Optional<Map<String, Object>> find(String kind) {
            List<Map<String, Object>> found = all(kind);
            if (found.size() > 1) {
                throw new AssertionError("more than one " + kind);
            }
            return found.stream().findFirst();
        }

        Map<String, Object> one(String kind) {
            return find(kind).orElseThrow(() -> new AssertionError("no " + kind + " rendered"));
        }

        /** The ConfigMap holding the gateway's application.yaml. */
        Map<String, Object> gatewayConfigMap() {
            return all("ConfigMap").stream()
                    .filter(c -> c.get("data") instanceof Map<?, ?> data && data.containsKey("application.yaml"))
                    .findFirst().orElseThrow(() -> new AssertionError("no ConfigMap with application.yaml"));
        }

        /** The application.yaml text from the ConfigMap. */
        String applicationYaml() {
            return (String) asMap(gatewayConfigMap().get("data")).get("application.yaml");
        }

        Map<String, Object> podSpec() {
            return asMap(get(one("Deployment"), "spec.template.spec"));
        }

        /** The gateway container of the Deployment. */
        Map<String, Object> container() {
            List<Object> containers = asList(podSpec().get("containers"));
            return containers.stream().map(Chart::asMap).filter(c -> "gateway".equals(c.get("name")))
                    .findFirst().orElseThrow(() -> new AssertionError("no container named gateway"));
        }

        List<Map<String, Object>> env() {
            return asList(container().get("env")).stream().map(Chart::asMap).toList();
        }

        /** The container port with that name (or number, for a numeric reference). */
        int containerPort(Object ref) {
            for (Object p : asList(container().get("ports"))) {
                Map<String, Object> port = asMap(p);
                if (ref.equals(port.get("name")) || ref.equals(port.get("containerPort"))) {
                    return ((Number) port.get("containerPort")).intValue();
                }
            }
            throw new AssertionError("the container has no port " + ref);
        }
    }
}
