package dev.tandem.hooks;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import io.helidon.config.Config;

/**
 * The webhooks' configuration ({@code tandem.webhooks}); every default is here.
 *
 * <pre>
 * tandem.webhooks:
 *   url: ...                  # on when set: POSTs presence and document changes here
 *   secret: ...               # HMAC key; defaults to tandem.hooks.secret
 *   timeout: PT5S             # per call
 *   events: [presence, documents]
 *   batch: 100                # events per call at most
 *   presence-queue: 10000     # presence events waiting at most; more are dropped (counted)
 *   presence-attempts: 5      # tries per presence batch before it is dropped (counted)
 * </pre>
 *
 * @param target           where to POST, with its timeout
 * @param secret           the HMAC key
 * @param presence         whether presence joins and leaves are sent
 * @param documents        whether document changes are sent (through the outbox)
 * @param batch            events per call at most
 * @param presenceQueue    presence events waiting at most
 * @param presenceAttempts tries per presence batch
 */
public record WebhookSettings(HookSettings.Target target, String secret, boolean presence, boolean documents,
                              int batch, int presenceQueue, int presenceAttempts) {
    /** Validates the fields. */
    public WebhookSettings {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(secret, "secret");
        if (batch < 1 || presenceQueue < 1 || presenceAttempts < 1) {
            throw new IllegalArgumentException("tandem.webhooks batch, presence-queue and presence-attempts must be positive");
        }
    }

    /** The settings under {@code tandem}, when {@code tandem.webhooks.url} is set. */
    public static Optional<WebhookSettings> create(Config tandem) {
        Config w = tandem.get("webhooks");
        Optional<String> url = w.get("url").asString().asOptional().filter(s -> !s.isBlank());
        if (url.isEmpty()) {
            return Optional.empty();
        }
        String secret = w.get("secret").asString().asOptional().filter(s -> !s.isBlank())
                .orElseGet(() -> tandem.get("hooks.secret").asString().orElse(""));
        if (secret.isBlank()) {
            throw new IllegalArgumentException("tandem.webhooks.secret (or tandem.hooks.secret) is required when "
                    + "tandem.webhooks.url is set");
        }
        List<String> events = w.get("events").asList(String.class).orElse(List.of("presence", "documents"))
                .stream().map(e -> e.trim().toLowerCase(Locale.ROOT)).toList();
        for (String e : events) {
            if (!e.equals("presence") && !e.equals("documents")) {
                throw new IllegalArgumentException("tandem.webhooks.events lists presence and documents, not " + e);
            }
        }
        HookSettings.Target target = new HookSettings.Target(URI.create(url.get().trim()),
                w.get("timeout").as(Duration.class).orElse(Duration.ofSeconds(5)), 4, false);
        return Optional.of(new WebhookSettings(target, secret, events.contains("presence"), events.contains("documents"),
                w.get("batch").asInt().orElse(100), w.get("presence-queue").asInt().orElse(10_000),
                w.get("presence-attempts").asInt().orElse(5)));
    }
}
