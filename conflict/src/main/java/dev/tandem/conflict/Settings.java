package dev.tandem.conflict;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import io.helidon.config.Config;

/**
 * The store's settings, read from the documents node; every default is here.
 *
 * @param url              JDBC URL; {@code jdbc:h2:...} or {@code jdbc:postgresql:...}
 * @param username         database user
 * @param password         database password
 * @param schema           PostgreSQL schema to use (created by the migration), if not the default
 * @param pool             extra connection pool (Hikari) properties, e.g. {@code maximumPoolSize}
 * @param maxDocumentBytes largest operation payload and resulting document, as JSON bytes
 * @param keepVersions     versions kept per document as merge bases (older ones are pruned)
 * @param opRetention      how long applied opIds are kept for duplicate detection
 * @param pruneInterval    how often pruning runs; zero disables the background pruning
 * @param maxAttempts      tries per operation when concurrent writers collide
 * @param maxNumberDigits  digits a number may have before and after the decimal point
 * @param auditRetention   how long audit entries are kept
 * @param maxJudgements    how often one write's guard (rules and backend hook) may be asked while
 *                         the document keeps changing under it, then {@code unavailable}
 */
record Settings(String url, String username, String password, Optional<String> schema, Map<String, String> pool,
                int maxDocumentBytes, int keepVersions, Duration opRetention, Duration pruneInterval, int maxAttempts,
                int maxNumberDigits, Duration auditRetention, int maxJudgements) {
    /** The standalone database: an H2 file next to the working directory. */
    static final String DEFAULT_URL = "jdbc:h2:file:./data/tandem;LOCK_TIMEOUT=10000";
    /** H2 keeps text values up to this length; documents must fit. */
    static final int H2_MAX_TEXT = 1_000_000;

    Settings {
        if (maxDocumentBytes < 2 || maxDocumentBytes > H2_MAX_TEXT) {
            throw new IllegalArgumentException("max-document-bytes must be 2-" + H2_MAX_TEXT);
        }
        if (keepVersions < 1) {
            throw new IllegalArgumentException("keep-versions must be at least 1");
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("max-attempts must be at least 1");
        }
        if (maxNumberDigits < 1 || maxNumberDigits > 500) {
            throw new IllegalArgumentException("max-number-digits must be 1-500");
        }
        if (maxJudgements < 1) {
            throw new IllegalArgumentException("max-judgements must be at least 1");
        }
        if (auditRetention.isNegative() || auditRetention.isZero()) {
            throw new IllegalArgumentException("audit-retention must be positive");
        }
    }

    static Settings create(Config config) {
        return create(config, config.get("db"));
    }

    static Settings create(Config config, Config db) {
        String url = db.get("url").asString().orElse(DEFAULT_URL);
        return new Settings(url,
                db.get("username").asString().orElse(url.startsWith("jdbc:h2:") ? "sa" : "postgres"),
                db.get("password").asString().orElse(""),
                db.get("schema").asString().filter(s -> !s.isBlank()),
                pool(db),
                config.get("max-document-bytes").asInt().orElse(262_144),
                config.get("keep-versions").asInt().orElse(100),
                config.get("op-retention").as(Duration.class).orElse(Duration.ofDays(30)),
                config.get("prune-interval").as(Duration.class).orElse(Duration.ofHours(1)),
                config.get("max-attempts").asInt().orElse(100),
                config.get("max-number-digits").asInt().orElse(100),
                config.get("audit-retention").as(Duration.class).orElse(Duration.ofDays(90)),
                config.get("max-judgements").asInt().orElse(3));
    }

    /**
     * Hikari properties: the configured ones over a 3 s connection timeout (Hikari's own 30 s
     * would hold every document request and the readiness check that long while the database is
     * away, instead of answering {@code unavailable} and DOWN).
     */
    private static Map<String, String> pool(Config db) {
        Map<String, String> pool = new java.util.HashMap<>();
        pool.put("connectionTimeout", "3000");
        pool.putAll(db.get("pool").detach().asMap().orElse(Map.of()));
        return Map.copyOf(pool);
    }

    boolean postgres() {
        return url.startsWith("jdbc:postgresql:");
    }
}
