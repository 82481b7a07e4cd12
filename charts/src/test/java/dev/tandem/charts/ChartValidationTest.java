package dev.tandem.charts;

import java.util.Map;

import com.marcnuri.helm.LintResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code helm lint} and {@code helm template} through the embedded Helm: the chart passes with
 * its defaults and with the production-like values, and bad values are refused, by the JSON
 * schema (types, ranges, unknown keys) or by the chart's render-time checks (relations between
 * values that a schema cannot express).
 */
class ChartValidationTest {

    @Test
    void lintPassesWithDefaults() {
        LintResult lint = Chart.lintDefaults();
        assertFalse(lint.isFailed(), "helm lint --strict: " + lint.getMessages());
    }

    @Test
    void lintPassesWithProductionValues() {
        LintResult lint = Chart.lintWith(Chart.productionValues());
        assertFalse(lint.isFailed(), "helm lint --strict -f production-values.yaml: " + lint.getMessages());
    }

    @Test
    void templateRendersEveryObjectWithProductionValues() {
        Chart.Rendered r = Chart.render(Chart.productionValues());
        for (String kind : new String[] {"Deployment", "Service", "Ingress", "ConfigMap", "PodDisruptionBudget",
                "HorizontalPodAutoscaler", "ServiceMonitor", "ServiceAccount"}) {
            assertFalse(r.all(kind).isEmpty(), kind + " must be rendered");
        }
        assertTrue(r.all("ConfigMap").size() == 2, "gateway config and Grafana dashboard");
    }

    @Test
    void lintRejectsAWrongType() {
        LintResult lint = Chart.lintWith(Chart.testValues("invalid-values/wrong-type.yaml"));
        assertTrue(lint.isFailed(), "lint must fail on replicaCount: \"three\"");
        assertTrue(String.join("\n", lint.getMessages()).contains("replicaCount"), lint.getMessages().toString());
    }

    /** Each bad file must fail {@code helm template} with a message naming the problem. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "wrong-type.yaml                | replicaCount",
            "port-out-of-range.yaml         | port",
            "writable-root-filesystem.yaml  | readOnlyRootFilesystem",
            "runs-as-root.yaml              | runAsNonRoot",
            "inline-secret.yaml             | secret",
            "misspelled-key.yaml            | drainTimeout",
            "bad-duration.yaml              | heartbeat-interval",
            "bad-redis-address.yaml         | address",
            "bad-redis-cluster-node.yaml    | clusterNodes",
            "redis-address-and-cluster.yaml | redis.clusterNodes",
            "grace-shorter-than-drain.yaml  | terminationGracePeriodSeconds",
            "postgres-without-secret.yaml   | postgres.existingSecret",
            "no-auth.yaml                   | auth",
            "kafka-inline-jaas.yaml         | sasl.jaas.config",
    })
    void badValuesAreRejected(String file, String expected) {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Chart.template(Chart.testValues("invalid-values/" + file), Map.of()));
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
    }
}
