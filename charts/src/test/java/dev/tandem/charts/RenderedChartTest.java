package dev.tandem.charts;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.tandem.kafka.KafkaSettings;
import dev.tandem.queue.redis.RedisSettings;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static dev.tandem.charts.Chart.asList;
import static dev.tandem.charts.Chart.asMap;
import static dev.tandem.charts.Chart.at;
import static dev.tandem.charts.Chart.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks the rendered objects, with the chart's defaults and with the production-like values:
 * probes, ports, Secret references, drain timing, security context, and that the Service,
 * Ingress, PDB, HPA and ServiceMonitor point at what the Deployment really runs. Configuration
 * values are read through {@link PodEnvironment}, i.e. the way the gateway itself reads them.
 */
class RenderedChartTest {
    /** Env var names that carry credentials and so must come from a Secret. */
    private static final Pattern SECRET_NAME = Pattern.compile(
            "(?i).*(SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|USERNAME|PRIVATE|PASSPHRASE|API_?KEY|JAAS).*");
    /** Configuration keys that carry credentials and so must be empty in the ConfigMap. */
    private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(secret|password|passphrase|token).*");

    @TempDir
    Path work;

    static Stream<Arguments> renders() {
        return Stream.of(
                Arguments.of("defaults", Chart.renderDefaults()),
                Arguments.of("production", Chart.render(Chart.productionValues())),
                Arguments.of("redis-cluster", Chart.render(Chart.testValues("redis-cluster-values.yaml"))));
    }

    @Test
    void aRedisClusterReachesTheGatewayAsItsSeedList() {
        Chart.Rendered r = Chart.render(Chart.testValues("redis-cluster-values.yaml"));
        Map<String, String> env = new java.util.HashMap<>();
        for (Map<String, Object> var : r.env()) {
            if (var.containsKey("value")) {
                env.put((String) var.get("name"), String.valueOf(var.get("value")));
            }
        }
        assertFalse(env.containsKey("TANDEM_REDIS_ADDRESS"), "one Redis or a cluster, not both");
        assertEquals(Map.of("TANDEM_AUTH_HS256_dash_SECRET", "tandem-auth/hs256-secret",
                "TANDEM_REDIS_PASSWORD", "tandem-redis/redis-password"), secretRefs(r));
        // read by the gateway's own parser, from the environment as the pod has it
        Config cfg = pod(r).config(Map.of());
        RedisSettings redis = RedisSettings.create(cfg.get("tandem.redis")).orElseThrow(
                () -> new AssertionError("the rendered pod does not switch Redis on"));
        assertTrue(redis.cluster(), "cluster mode");
        assertEquals("the Redis Cluster at redis://tandem-redis-0.tandem-redis.data.svc:6379, "
                + "redis://tandem-redis-1.tandem-redis.data.svc:6379, redis://tandem-redis-2.tandem-redis.data.svc:6379",
                redis.where());
        assertEquals(java.time.Duration.ofSeconds(3), redis.budget(), "redis.timeoutBudget reaches tandem.redis.timeout-budget");
    }

    private PodEnvironment pod(Chart.Rendered r) {
        return new PodEnvironment(r, Map.of(), work);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void probesUseTheGatewayHealthEndpointsOnItsPort(String name, Chart.Rendered r) {
        Map<String, Object> c = r.container();
        assertEquals("/health/live", get(c, "livenessProbe.httpGet.path"));
        assertEquals("/health/ready", get(c, "readinessProbe.httpGet.path"));
        assertEquals("/health/live", get(c, "startupProbe.httpGet.path"));
        int port = pod(r).config(Map.of()).get("server.port").asInt().get();
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            assertEquals(port, r.containerPort(get(c, probe + ".httpGet.port")),
                    probe + " must hit the port the gateway listens on");
            assertFalse(at(c, probe + ".httpGet.scheme").filter("HTTPS"::equals).isPresent(),
                    "the gateway serves plain HTTP inside the pod (TLS ends at the ingress)");
        }
        // the startup probe must allow a JVM start on a busy node (at least 30 s)
        int startupBudget = ((Number) get(c, "startupProbe.periodSeconds")).intValue()
                * ((Number) get(c, "startupProbe.failureThreshold")).intValue();
        assertTrue(startupBudget >= 30, "startup probe budget " + startupBudget + " s");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void containerPortServiceTargetPortAndGatewayPortAgree(String name, Chart.Rendered r) {
        int gatewayPort = pod(r).config(Map.of()).get("server.port").asInt().get();
        Map<String, Object> svc = r.one("Service");
        List<Object> ports = asList(get(svc, "spec.ports"));
        assertEquals(1, ports.size());
        Object target = asMap(ports.get(0)).get("targetPort");
        assertEquals(gatewayPort, r.containerPort(target), "Service targetPort " + target);
        assertEquals(gatewayPort, r.containerPort("http"));
        assertEquals("None", get(svc, "spec.sessionAffinity"), "no sticky sessions: clients resume anywhere");
        assertSelects(asMap(get(svc, "spec.selector")), r);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void credentialsAreSecretReferencesNeverValues(String name, Chart.Rendered r) {
        assertTrue(r.all("Secret").isEmpty(), "the chart must not render Secrets (their data would be inlined)");
        for (Map<String, Object> var : r.env()) {
            String var_ = (String) var.get("name");
            Object secretRef = at(var, "valueFrom.secretKeyRef").orElse(null);
            if (SECRET_NAME.matcher(var_).matches()) {
                assertNotNull(secretRef, var_ + " carries a credential and must use valueFrom.secretKeyRef");
                assertFalse(var.containsKey("value"), var_ + " must not have an inline value");
            }
            if (secretRef != null) {
                assertFalse(String.valueOf(get(var, "valueFrom.secretKeyRef.name")).isBlank(), var_);
                assertFalse(String.valueOf(get(var, "valueFrom.secretKeyRef.key")).isBlank(), var_);
            }
        }
        // the ConfigMap holds no credential (the gateway's public dev secret is switched off)
        Config fileOnly = Config.just(ConfigSources.create(r.applicationYaml(), io.helidon.common.media.type.MediaTypes.APPLICATION_YAML));
        fileOnly.traverse().filter(Config::isLeaf).forEach(node -> {
            if (SECRET_KEY.matcher(node.name()).matches()) {
                assertEquals("", node.asString().orElse(""), "ConfigMap key " + node.key() + " must stay empty");
            }
        });
        assertEquals("", fileOnly.get("tandem.auth.hs256-secret").asString().orElse(null),
                "the ConfigMap must not carry a shared secret");
        // development mode would trust the public development secret: off in every pod
        assertEquals(Boolean.FALSE, pod(r).config(Map.of()).get("tandem.dev-mode").asBoolean().get());
        assertFalse(r.text().contains(devSecret()), "the development secret appears in the rendered output");
    }

    /** The gateway's public development secret. */
    private static String devSecret() {
        return dev.tandem.gateway.DevTokens.DEV_SECRET;
    }

    @Test
    void expectedSecretReferencesAreRendered() {
        Map<String, String> defaults = secretRefs(Chart.renderDefaults());
        assertEquals(Map.of("TANDEM_AUTH_HS256_dash_SECRET", "tandem-auth/hs256-secret"), defaults);

        Map<String, String> production = secretRefs(Chart.render(Chart.productionValues()));
        assertEquals(Map.of(
                "TANDEM_REDIS_PASSWORD", "tandem-redis/redis-password",
                "TANDEM_DB_USERNAME", "tandem-postgres/username",
                "TANDEM_DB_PASSWORD", "tandem-postgres/password",
                "TANDEM_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", "tandem-kafka/sasl-jaas-config"), production);
        // the non-secret cluster settings reach the keys the gateway will read in cluster mode
        Config cfg = new PodEnvironment(Chart.render(Chart.productionValues()), Map.of(), work).config(Map.of());
        assertEquals("rediss://tandem-redis.data.svc:6380", cfg.get("tandem.redis.address").asString().get());
        assertTrue(cfg.get("tandem.db.url").asString().get().startsWith("jdbc:postgresql://"));
        // Kafka settings as the gateway's own parser reads them (env + ConfigMap together)
        KafkaSettings kafka = KafkaSettings.create(cfg.get("tandem.kafka")).orElseThrow(
                () -> new AssertionError("the rendered pod does not switch Kafka on"));
        assertEquals("kafka-0.kafka.data.svc:9093,kafka-1.kafka.data.svc:9093,kafka-2.kafka.data.svc:9093",
                kafka.bootstrapServers());
        assertEquals("tandem-prod", kafka.groupId());
        assertEquals(2, kafka.routes().size());
        assertEquals("SASL_SSL", kafka.properties().get("security.protocol"));
        assertEquals("SCRAM-SHA-512", kafka.properties().get("sasl.mechanism"));
        assertTrue(kafka.properties().get("sasl.jaas.config").startsWith("stand-in-for-tandem-kafka/sasl-jaas-config"),
                "sasl.jaas.config must come from the Secret: " + kafka.properties());
        assertEquals("https://login.example.com/.well-known/jwks.json", cfg.get("tandem.auth.jwks-url").asString().get());
        assertTrue(cfg.get("tandem.auth.hs256-secret").asString().orElse("").isEmpty(),
                "HS256 is off in production, so no shared secret may be configured");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void graceOutlastsPreStopPlusDrain(String name, Chart.Rendered r) {
        Duration drain = pod(r).config(Map.of()).get("tandem.drain-timeout").as(Duration.class).get();
        List<Object> cmd = asList(get(r.container(), "lifecycle.preStop.exec.command"));
        assertEquals("sleep", cmd.get(0));
        int preStop = Integer.parseInt(String.valueOf(cmd.get(1)));
        assertTrue(preStop > 0, "preStop must give endpoints time to drop the pod");
        int grace = ((Number) get(r.podSpec(), "terminationGracePeriodSeconds")).intValue();
        assertTrue(grace > preStop + drain.toSeconds(),
                "grace " + grace + " s must exceed preStop " + preStop + " s + drain " + drain.toSeconds() + " s");
        assertEquals(0, ((Number) get(r.one("Deployment"), "spec.strategy.rollingUpdate.maxUnavailable")).intValue(),
                "a roll must add a pod before taking one away");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void runsAsNonRootOnAReadOnlyRootFileSystem(String name, Chart.Rendered r) {
        Map<String, Object> pod = r.podSpec();
        Map<String, Object> c = r.container();
        assertEquals(Boolean.TRUE, get(pod, "securityContext.runAsNonRoot"));
        assertEquals(Boolean.TRUE, get(c, "securityContext.runAsNonRoot"));
        assertNotEquals(0, ((Number) get(c, "securityContext.runAsUser")).intValue());
        assertEquals(Boolean.TRUE, get(c, "securityContext.readOnlyRootFilesystem"));
        assertEquals(Boolean.FALSE, get(c, "securityContext.allowPrivilegeEscalation"));
        assertTrue(asList(get(c, "securityContext.capabilities.drop")).contains("ALL"));
        // what the gateway writes must be writable volumes: /tmp (JVM) and ./data (standalone H2)
        String data = get(c, "workingDir") + "/data";
        for (String dir : List.of("/tmp", data)) {
            Map<String, Object> mount = asList(c.get("volumeMounts")).stream().map(Chart::asMap)
                    .filter(m -> dir.equals(m.get("mountPath"))).findFirst()
                    .orElseThrow(() -> new AssertionError("no volume at " + dir));
            Map<String, Object> volume = asList(pod.get("volumes")).stream().map(Chart::asMap)
                    .filter(v -> mount.get("name").equals(v.get("name"))).findFirst().orElseThrow();
            assertTrue(volume.containsKey("emptyDir"), dir + " must be an emptyDir");
            assertFalse(Boolean.TRUE.equals(mount.get("readOnly")), dir + " must be writable");
        }
        // the heap follows the memory limit, so the limit must exist
        assertNotNull(at(c, "resources.limits.memory").orElse(null));
        assertTrue(pod(r).env().get("JAVA_TOOL_OPTIONS").contains("MaxRAMPercentage"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("renders")
    void podDisruptionBudgetSelectsTheGatewayPods(String name, Chart.Rendered r) {
        Map<String, Object> pdb = r.one("PodDisruptionBudget");
        assertSelects(asMap(get(pdb, "spec.selector.matchLabels")), r);
        assertEquals(1, ((Number) get(pdb, "spec.maxUnavailable")).intValue());
    }

    @Test
    void defaultsAreAPlainInstallWithoutOptionalObjects() {
        Chart.Rendered r = Chart.renderDefaults();
        assertEquals(2, ((Number) get(r.one("Deployment"), "spec.replicas")).intValue());
        for (String kind : List.of("Ingress", "HorizontalPodAutoscaler", "ServiceMonitor")) {
            assertTrue(r.find(kind).isEmpty(), kind + " is opt-in");
        }
        assertEquals(1, r.all("ConfigMap").size(), "the dashboard ConfigMap is opt-in");
    }

    @Test
    void ingressCarriesWebSocketTrafficWithTlsAndWithoutStickiness() {
        Chart.Rendered r = Chart.render(Chart.productionValues());
        Map<String, Object> ing = r.one("Ingress");
        Map<String, Object> ann = asMap(get(ing, "metadata.annotations"));
        Config cfg = pod(r).config(Map.of());
        Duration heartbeat = cfg.get("tandem.limits.heartbeat-interval").as(Duration.class).get()
                .plus(cfg.get("tandem.limits.heartbeat-timeout").as(Duration.class).get());
        for (String key : List.of("nginx.ingress.kubernetes.io/proxy-read-timeout",
                "nginx.ingress.kubernetes.io/proxy-send-timeout")) {
            long seconds = Long.parseLong((String) ann.get(key));
            assertEquals(3600, seconds, key);
            assertTrue(seconds > heartbeat.toSeconds(), key + " must outlast the heartbeat");
        }
        for (String key : ann.keySet()) {
            assertFalse(key.contains("affinity") || key.contains("session-cookie") || key.contains("upstream-hash-by"),
                    "sticky sessions must stay off, found " + key);
        }
        assertEquals("nginx", get(ing, "spec.ingressClassName"));
        Map<String, Object> rule = asMap(asList(get(ing, "spec.rules")).get(0));
        String host = (String) rule.get("host");
        Map<String, Object> tls = asMap(asList(get(ing, "spec.tls")).get(0));
        assertTrue(asList(tls.get("hosts")).contains(host), "TLS must cover " + host);
        assertEquals("realtime-example-com-tls", tls.get("secretName"));
        String svcName = (String) get(r.one("Service"), "metadata.name");
        Set<String> paths = new java.util.HashSet<>();
        for (Object p : asList(get(rule, "http.paths"))) {
            Map<String, Object> path = asMap(p);
            paths.add((String) path.get("path"));
            assertEquals(svcName, get(path, "backend.service.name"));
            assertServicePort(r, get(path, "backend.service.port"));
        }
        assertEquals(Set.of("/ws", "/api/v1"), paths);
    }

    @Test
    void autoscalerScalesTheDeploymentOnCpuAndConnections() {
        Chart.Rendered r = Chart.render(Chart.productionValues());
        Map<String, Object> hpa = r.one("HorizontalPodAutoscaler");
        assertEquals(get(r.one("Deployment"), "metadata.name"), get(hpa, "spec.scaleTargetRef.name"));
        assertEquals("Deployment", get(hpa, "spec.scaleTargetRef.kind"));
        assertTrue(at(r.one("Deployment"), "spec.replicas").isEmpty(), "with an HPA the chart must not pin replicas");
        List<Map<String, Object>> metrics = asList(get(hpa, "spec.metrics")).stream().map(Chart::asMap).toList();
        assertTrue(metrics.stream().anyMatch(m -> "Resource".equals(m.get("type"))
                && "cpu".equals(get(m, "resource.name"))), "CPU metric");
        assertTrue(metrics.stream().anyMatch(m -> "Pods".equals(m.get("type"))
                && "tandem_connections".equals(get(m, "pods.metric.name"))), "connections metric");
        assertEquals(1, ((Number) asMap(asList(get(hpa, "spec.behavior.scaleDown.policies")).get(0)).get("value")).intValue(),
                "scale in one pod at a time");
    }

    @Test
    void serviceMonitorScrapesMetricsOnTheServicePort() {
        Chart.Rendered r = Chart.render(Chart.productionValues());
        Map<String, Object> sm = r.one("ServiceMonitor");
        Map<String, Object> endpoint = asMap(asList(get(sm, "spec.endpoints")).get(0));
        assertEquals("/metrics", endpoint.get("path"));
        assertServicePort(r, endpoint.get("port"));
        Map<String, Object> svcLabels = asMap(get(r.one("Service"), "metadata.labels"));
        asMap(get(sm, "spec.selector.matchLabels")).forEach((k, v) ->
                assertEquals(v, svcLabels.get(k), "ServiceMonitor must select the Service by " + k));
        assertEquals("kube-prometheus-stack", get(sm, "metadata.labels.release"));
    }

    @Test
    void jwksFromASecretIsMountedWhereTheGatewayLooks() {
        Chart.Rendered r = new Chart.Rendered(Chart.template(null, Map.of(
                "auth.hs256.enabled", "false", "auth.jwks.existingSecret", "idp-jwks")));
        String file = pod(r).config(Map.of()).get("tandem.auth.jwks-file").asString().get();
        Path path = Path.of(file);
        Map<String, Object> mount = asList(r.container().get("volumeMounts")).stream().map(Chart::asMap)
                .filter(m -> path.getParent().toString().equals(m.get("mountPath"))).findFirst()
                .orElseThrow(() -> new AssertionError("nothing mounted at " + path.getParent()));
        Map<String, Object> volume = asList(r.podSpec().get("volumes")).stream().map(Chart::asMap)
                .filter(v -> mount.get("name").equals(v.get("name"))).findFirst().orElseThrow();
        assertEquals("idp-jwks", get(volume, "secret.secretName"));
        assertTrue(asList(get(volume, "secret.items")).stream().map(Chart::asMap)
                .anyMatch(i -> path.getFileName().toString().equals(i.get("path"))), "the Secret key lands at " + file);
        assertTrue(secretRefs(r).isEmpty(), "no HS256 secret when HS256 is off");
    }

    /** The schema lists exactly the gateway's limits, so a new gateway limit is not refused as a typo. */
    @Test
    void schemaKnowsEveryGatewayLimit() {
        Object schema = Chart.yaml().load(readString(Chart.dir().resolve("values.schema.json")));
        Set<String> inSchema = new java.util.TreeSet<>(asMap(get(schema, "properties.gateway.properties.limits.properties")).keySet());
        Set<String> inGateway = new java.util.TreeSet<>();
        Config.just(ConfigSources.classpath("application.yaml")).get("tandem.limits").asNodeList().get()
                .forEach(n -> inGateway.add(n.name()));
        assertEquals(inGateway, inSchema);
    }

    private static String readString(Path p) {
        try {
            return java.nio.file.Files.readString(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, String> secretRefs(Chart.Rendered r) {
        Map<String, String> refs = new java.util.TreeMap<>();
        for (Map<String, Object> var : r.env()) {
            at(var, "valueFrom.secretKeyRef").ifPresent(ref -> refs.put((String) var.get("name"),
                    get(ref, "name") + "/" + get(ref, "key")));
        }
        return refs;
    }

    private static void assertSelects(Map<String, Object> selector, Chart.Rendered r) {
        Map<String, Object> podLabels = asMap(get(r.one("Deployment"), "spec.template.metadata.labels"));
        assertFalse(selector.isEmpty());
        selector.forEach((k, v) -> assertEquals(v, podLabels.get(k), "selector " + k + " must match the pods"));
    }

    /** A Service port reference ({@code name} or {@code number}) must exist on the Service. */
    private static void assertServicePort(Chart.Rendered r, Object ref) {
        Map<String, Object> want = ref instanceof Map<?, ?> ? asMap(ref) : Map.of("name", ref);
        for (Object p : asList(get(r.one("Service"), "spec.ports"))) {
            Map<String, Object> port = asMap(p);
            if (want.containsKey("name") && want.get("name").equals(port.get("name"))
                    || want.containsKey("number") && want.get("number").equals(port.get("port"))) {
                return;
            }
        }
        fail("the Service has no port " + ref);
    }
}
