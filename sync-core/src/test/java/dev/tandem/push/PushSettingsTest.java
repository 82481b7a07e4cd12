package dev.tandem.push;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code tandem.push} with its defaults, the development-mode differences, and what is refused at start. */
class PushSettingsTest {
    @Test
    void nothingConfiguredOutsideDevelopmentIsThePublicServicesNoProviderAndTheDefaults() {
        PushSettings s = PushSettings.create(yaml("other: 1"), false);
        assertEquals(EndpointAllowList.publicServices(false), s.endpoints());
        assertFalse(s.webPush().enabled());
        assertEquals(Optional.empty(), s.fcm());
        assertEquals(Optional.empty(), s.apns());
        assertEquals(RetryPolicy.DEFAULT, s.retry());
        assertEquals(PushSettings.DEFAULT_TTL, s.defaultTtl());
        assertEquals(PushSettings.DEFAULT_REQUEST_TIMEOUT, s.requestTimeout());
    }

    @Test
    void developmentModeTurnsWebPushOnWithAGeneratedKeyAndAllowsLoopback() {
        PushSettings s = PushSettings.create(yaml("other: 1"), true);
        assertTrue(s.endpoints().allowLoopback());
        assertTrue(s.webPush().enabled());
        assertEquals(Optional.empty(), s.webPush().vapidKeyFile());
        assertEquals(PushSettings.DEVELOPMENT_SUBJECT, s.webPush().subject());
        assertFalse(PushSettings.create(yaml("allow-loopback: false"), true).endpoints().allowLoopback());
    }

    @Test
    void everyProviderReadsItsSection() {
        PushSettings s = PushSettings.create(yaml("""
                endpoint-hosts: [push.example.com, "*.push.example.net"]
                request-timeout: PT3S
                default-ttl: PT1H
                retry: {max-attempts: 3, first-delay: PT1S, max-delay: PT10S, max-retry-after: PT5M}
                webpush:
                  vapid-key-file: /etc/tandem/vapid.json
                  subject: https://ops.example.com/contact
                  token-lifetime: PT6H
                fcm:
                  service-account-file: /etc/tandem/fcm.json
                  project-id: other-project
                apns:
                  key-file: /etc/tandem/AuthKey_ABC123DEFG.p8
                  key-id: ABC123DEFG
                  team-id: DEF123GHIJ
                  topic: com.example.app
                  environment: sandbox
                """), false);
        assertEquals(List.of("push.example.com", "*.push.example.net"), s.endpoints().hosts());
        assertEquals(Duration.ofSeconds(3), s.requestTimeout());
        assertEquals(new RetryPolicy(3, Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(5)), s.retry());
        assertEquals(new PushSettings.WebPush(true, Optional.of(Path.of("/etc/tandem/vapid.json")),
                "https://ops.example.com/contact", Duration.ofHours(6)), s.webPush());
        assertEquals(new PushSettings.Fcm(Path.of("/etc/tandem/fcm.json"), Optional.of("other-project"), PushSettings.FCM_URL),
                s.fcm().orElseThrow());
        PushSettings.Apns apns = s.apns().orElseThrow();
        assertEquals(PushSettings.APNS_SANDBOX_URL, apns.url());
        assertEquals("com.example.app", apns.topic());
        assertEquals(URI.create("https://api.push.apple.com"),
                PushSettings.create(yaml("apns: {key-file: k.p8, key-id: K, team-id: T, topic: a.b}"), false).apns()
                        .orElseThrow().url());
    }

    @Test
    void aHalfConfiguredProviderStopsTheStartWithTheKeyToFix() {
        assertMessage("webpush.vapid-key-file", "webpush: {enabled: true, subject: mailto:a@b.c}");
        assertMessage("webpush.subject", "webpush: {vapid-key-file: v.json}");
        assertMessage("mailto:", "webpush: {vapid-key-file: v.json, subject: ops@example.com}");
        assertMessage("at most 24 hours", "webpush: {vapid-key-file: v.json, subject: mailto:a@b.c, token-lifetime: PT25H}");
        assertMessage("apns.team-id", "apns: {key-file: k.p8, key-id: K, topic: a.b}");
        assertMessage("production or sandbox", "apns: {key-file: k.p8, key-id: K, team-id: T, topic: a.b, environment: dev}");
        assertMessage("endpoint-hosts", "endpoint-hosts: [\"https://x\"]");
        assertMessage("max-attempts", "retry: {max-attempts: 0}");
    }

    private static void assertMessage(String part, String yaml) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PushSettings.create(yaml(yaml), false));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    private static Config yaml(String text) {
        return Config.just(ConfigSources.create(text, MediaTypes.create("application/x-yaml")));
    }
}
