package dev.tandem.hooks;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

import io.helidon.config.Config;

/**
 * The backend hooks' configuration ({@code tandem.hooks}); every default is here.
 *
 * <pre>
 * tandem.hooks:
 *   secret: ...              # shared HMAC-SHA256 key (16+ bytes), required when a hook is on
 *   timeout: PT2S            # per call
 *   max-concurrent: 64       # calls in flight per hook; one more fails at once
 *   on-failure: refuse       # refuse | allow: what a call that gets no answer means
 *   connect:        {url: ...}   # each hook is on when it has a url, and may override
 *   subscribe:      {url: ...}   # timeout, max-concurrent and on-failure
 *   publish:        {url: ..., include-ephemeral: false}
 *   document-write: {url: ...}
 * </pre>
 *
 * @param secret           the shared secret
 * @param targets          the hooks that are on, by name
 * @param publishEphemeral whether typing/cursor publications are sent to the publish hook too
 */
public record HookSettings(String secret, Map<String, Target> targets, boolean publishEphemeral) {
    /** The hooks, by their configuration names. */
    public static final java.util.List<String> NAMES = java.util.List.of("connect", "subscribe", "publish",
            "document-write");
    /** Default time for one call. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(2);
    /** Default calls in flight per hook. */
    public static final int DEFAULT_MAX_CONCURRENT = 64;

    /** Validates and copies the fields. */
    public HookSettings {
        Objects.requireNonNull(secret, "secret");
        targets = Map.copyOf(targets);
    }

    /**
     * One configured URL.
     *
     * @param url           where to POST
     * @param timeout       time for one call
     * @param maxConcurrent calls in flight at most
     * @param failOpen      whether a call without an answer allows ({@code on-failure: allow})
     */
    public record Target(URI url, Duration timeout, int maxConcurrent, boolean failOpen) {
        /** Validates the fields. */
        public Target {
            Objects.requireNonNull(url, "url");
            if (!("http".equals(url.getScheme()) || "https".equals(url.getScheme())) || url.getHost() == null) {
                throw new IllegalArgumentException("a hook url must be an absolute http(s) URL, was " + url);
            }
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("a hook timeout must be positive, was " + timeout);
            }
            if (maxConcurrent < 1) {
                throw new IllegalArgumentException("max-concurrent must be positive, was " + maxConcurrent);
            }
        }
    }

    /** Whether any hook is on. */
    public boolean any() {
        return !targets.isEmpty();
    }

    /** The settings under a {@code tandem.hooks} node (no hook is on without a url). */
    public static HookSettings create(Config hooks) {
        Map<String, Target> targets = new TreeMap<>();
        Duration timeout = hooks.get("timeout").as(Duration.class).orElse(DEFAULT_TIMEOUT);
        int max = hooks.get("max-concurrent").asInt().orElse(DEFAULT_MAX_CONCURRENT);
        boolean failOpen = failOpen(hooks.get("on-failure"), false);
        for (String name : NAMES) {
            Config h = hooks.get(name);
            Optional<String> url = h.get("url").asString().asOptional().filter(s -> !s.isBlank());
            url.ifPresent(u -> targets.put(name, new Target(URI.create(u.trim()),
                    h.get("timeout").as(Duration.class).orElse(timeout),
                    h.get("max-concurrent").asInt().orElse(max),
                    failOpen(h.get("on-failure"), failOpen))));
        }
        String secret = hooks.get("secret").asString().orElse("");
        if (!targets.isEmpty() && secret.isBlank()) {
            throw new IllegalArgumentException("tandem.hooks.secret is required when a hook is on (the backend "
                    + "checks the X-Tandem-Signature HMAC with it)");
        }
        return new HookSettings(secret, targets, hooks.get("publish.include-ephemeral").asBoolean().orElse(false));
    }

    /** {@code refuse} or {@code allow}. */
    static boolean failOpen(Config node, boolean fallback) {
        return node.asString().asOptional().map(v -> switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "allow" -> true;
            case "refuse" -> false;
            default -> throw new IllegalArgumentException(node.key() + " must be refuse or allow, was " + v);
        }).orElse(fallback);
    }
}
