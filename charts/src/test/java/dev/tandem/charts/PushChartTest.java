package dev.tandem.charts;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.helidon.config.Config;

import static dev.tandem.charts.Chart.asList;
import static dev.tandem.charts.Chart.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Push providers switched on by their Secrets: each key file mounted where the rendered config points. */
class PushChartTest {
    @TempDir
    Path work;

    @Test
    void eachProvidersSecretIsMountedWhereTheGatewayLooks() {
        Chart.Rendered r = new Chart.Rendered(Chart.template(null, Map.of(
                "push.vapid.existingSecret", "tandem-vapid", "push.subject", "mailto:ops@example.com",
                "push.fcm.existingSecret", "tandem-fcm",
                "push.apns.existingSecret", "tandem-apns", "push.apns.keyId", "ABC123DEFG",
                "push.apns.teamId", "TEAM123456", "push.apns.topic", "com.example.app")));
        Config cfg = new PodEnvironment(r, Map.of(), work).config(Map.of());
        assertEquals("mailto:ops@example.com", cfg.get("tandem.push.webpush.subject").asString().get());
        assertEquals("ABC123DEFG", cfg.get("tandem.push.apns.key-id").asString().get());
        assertEquals("production", cfg.get("tandem.push.apns.environment").asString().get());
        for (var file : List.of(Map.entry("tandem.push.webpush.vapid-key-file", "tandem-vapid"),
                Map.entry("tandem.push.fcm.service-account-file", "tandem-fcm"),
                Map.entry("tandem.push.apns.key-file", "tandem-apns"))) {
            Path path = Path.of(cfg.get(file.getKey()).asString().get());
            Map<String, Object> mount = asList(r.container().get("volumeMounts")).stream().map(Chart::asMap)
                    .filter(m -> path.getParent().toString().equals(m.get("mountPath"))).findFirst()
                    .orElseThrow(() -> new AssertionError("nothing mounted at " + path.getParent()));
            Map<String, Object> volume = asList(r.podSpec().get("volumes")).stream().map(Chart::asMap)
                    .filter(v -> mount.get("name").equals(v.get("name"))).findFirst().orElseThrow();
            assertEquals(file.getValue(), get(volume, "secret.secretName"));
            assertTrue(asList(get(volume, "secret.items")).stream().map(Chart::asMap)
                    .anyMatch(i -> path.getFileName().toString().equals(i.get("path"))), "the Secret key lands at " + path);
        }
    }

    @Test
    void withoutSecretsPushStaysOffAndWebPushWithoutAContactIsRefused() {
        Chart.Rendered r = new Chart.Rendered(Chart.template(null, Map.of()));
        Config cfg = new PodEnvironment(r, Map.of(), work).config(Map.of());
        assertFalse(cfg.get("tandem.push.webpush.vapid-key-file").exists());
        assertFalse(asList(r.container().get("volumeMounts")).stream().map(Chart::asMap)
                .anyMatch(m -> String.valueOf(m.get("name")).startsWith("push-")));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Chart.template(null,
                Map.of("push.vapid.existingSecret", "tandem-vapid")));
        assertTrue(e.getMessage().contains("push.subject"), e.getMessage());
    }
}
