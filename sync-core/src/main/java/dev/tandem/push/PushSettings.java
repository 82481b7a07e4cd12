package dev.tandem.push;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import io.helidon.config.Config;

/**
 * The push configuration ({@code tandem.push}); every default is here.
 *
 * <pre>
 * tandem.push:
 *   endpoint-hosts: [fcm.googleapis.com, updates.push.services.mozilla.com,
 *                    web.push.apple.com, "*.notify.windows.com"]   # Web Push endpoints allowed
 *   allow-loopback: false     # loopback endpoints too; defaults to true in development mode
 *   request-timeout: PT10S    # one call to a push service
 *   connect-timeout: PT5S
 *   default-ttl: PT24H        # kept for an offline device when a send names no ttl
 *   retry: {max-attempts: 8, first-delay: PT5S, max-delay: PT15M, max-retry-after: PT1H}
 *   webpush:
 *     enabled: ...            # default: true when vapid-key-file is set or in development mode
 *     vapid-key-file: ...     # the VAPID key pair as a JWK file (see VapidKeys)
 *     subject: mailto:ops@example.com   # the VAPID "sub": a mailto: or https: URL
 *     token-lifetime: PT12H   # VAPID JWT lifetime (at most 24 h)
 *   fcm:                      # on when service-account-file is set
 *     service-account-file: ...   # the Google service account JSON key
 *     project-id: ...         # default: the file's project_id
 *     url: https://fcm.googleapis.com
 *   apns:                     # on when key-file is set
 *     key-file: AuthKey_KEYID.p8   # the token signing key (PKCS#8 PEM, P-256)
 *     key-id: ...             # the key's 10-character id
 *     team-id: ...            # the developer team id
 *     topic: com.example.app  # the app's bundle id
 *     environment: production # production | sandbox
 *     url: ...                # overrides the environment's host
 * </pre>
 *
 * @param endpoints      the Web Push endpoint allow-list
 * @param requestTimeout time for one call to a push service
 * @param connectTimeout time to connect to a push service
 * @param defaultTtl     the time to live of a notification that names none
 * @param retry          when to try again after a passing failure
 * @param webPush        Web Push
 * @param fcm            FCM, when configured
 * @param apns           APNs, when configured
 */
public record PushSettings(EndpointAllowList endpoints, Duration requestTimeout, Duration connectTimeout,
                           Duration defaultTtl, RetryPolicy retry, WebPush webPush, Optional<Fcm> fcm,
                           Optional<Apns> apns) {
    /** Default time for one call to a push service. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** Default time to connect to a push service. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Default time to live of a notification. */
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);
    /** Default lifetime of a VAPID token. */
    public static final Duration DEFAULT_VAPID_TOKEN_LIFETIME = Duration.ofHours(12);
    /** Longest VAPID token lifetime RFC 8292 allows. */
    public static final Duration MAX_VAPID_TOKEN_LIFETIME = Duration.ofHours(24);
    /** The VAPID subject used in development mode when none is configured. */
    public static final String DEVELOPMENT_SUBJECT = "mailto:push@localhost";
    /** FCM's API host. */
    public static final URI FCM_URL = URI.create("https://fcm.googleapis.com");
    /** APNs' production host. */
    public static final URI APNS_PRODUCTION_URL = URI.create("https://api.push.apple.com");
    /** APNs' development (sandbox) host. */
    public static final URI APNS_SANDBOX_URL = URI.create("https://api.sandbox.push.apple.com");

    /** Checks the fields. */
    public PushSettings {
        Objects.requireNonNull(endpoints, "endpoints");
        Objects.requireNonNull(retry, "retry");
        Objects.requireNonNull(webPush, "webPush");
        Objects.requireNonNull(fcm, "fcm");
        Objects.requireNonNull(apns, "apns");
        positive(requestTimeout, "request-timeout");
        positive(connectTimeout, "connect-timeout");
        if (defaultTtl.isNegative() || defaultTtl.compareTo(Notification.MAX_TTL) > 0) {
            throw new IllegalArgumentException("tandem.push.default-ttl must be between 0 and 28 days");
        }
    }

    /**
     * Web Push.
     *
     * @param enabled       whether browsers can register and be pushed to
     * @param vapidKeyFile  the VAPID key pair file; when empty in development mode the node makes one
     *                      in its data folder
     * @param subject       the VAPID {@code sub} claim: a {@code mailto:} or {@code https:} URL where
     *                      a push service can reach the operator
     * @param tokenLifetime the VAPID token lifetime ({@code exp} − now), at most 24 h
     */
    public record WebPush(boolean enabled, Optional<Path> vapidKeyFile, String subject, Duration tokenLifetime) {
        /** Checks the subject and the lifetime. */
        public WebPush {
            Objects.requireNonNull(vapidKeyFile, "vapidKeyFile");
            Objects.requireNonNull(subject, "subject");
            if (enabled && !(subject.startsWith("mailto:") || subject.startsWith("https://"))) {
                throw new IllegalArgumentException("tandem.push.webpush.subject must be a mailto: or https: URL "
                        + "where push services can reach the operator");
            }
            positive(tokenLifetime, "webpush.token-lifetime");
            if (tokenLifetime.compareTo(MAX_VAPID_TOKEN_LIFETIME) > 0) {
                throw new IllegalArgumentException("tandem.push.webpush.token-lifetime must be at most 24 hours (RFC 8292)");
            }
        }
    }

    /**
     * FCM HTTP v1.
     *
     * @param serviceAccountFile the service account's JSON key file
     * @param projectId          the Firebase project; empty: the file's {@code project_id}
     * @param url                the API's base URL
     */
    public record Fcm(Path serviceAccountFile, Optional<String> projectId, URI url) {
        /** Checks the fields. */
        public Fcm {
            Objects.requireNonNull(serviceAccountFile, "serviceAccountFile");
            Objects.requireNonNull(projectId, "projectId");
            checkBase(url, "fcm.url");
        }
    }

    /**
     * APNs with token-based authentication.
     *
     * @param keyFile the {@code .p8} signing key
     * @param keyId   the key's id (the JWT's {@code kid})
     * @param teamId  the developer team id (the JWT's {@code iss})
     * @param topic   the app's bundle id ({@code apns-topic})
     * @param url     the APNs host
     */
    public record Apns(Path keyFile, String keyId, String teamId, String topic, URI url) {
        /** Checks the fields. */
        public Apns {
            Objects.requireNonNull(keyFile, "keyFile");
            required(keyId, "apns.key-id");
            required(teamId, "apns.team-id");
            required(topic, "apns.topic");
            checkBase(url, "apns.url");
        }
    }

    /** The settings under a {@code tandem.push} node. */
    public static PushSettings create(Config push, boolean developmentMode) {
        List<String> hosts = push.get("endpoint-hosts").asList(String.class).orElse(EndpointAllowList.PUBLIC_PUSH_SERVICES);
        boolean loopback = push.get("allow-loopback").asBoolean().orElse(developmentMode);
        Config r = push.get("retry");
        RetryPolicy d = RetryPolicy.DEFAULT;
        RetryPolicy retry = new RetryPolicy(r.get("max-attempts").asInt().orElse(d.maxAttempts()),
                r.get("first-delay").as(Duration.class).orElse(d.firstDelay()),
                r.get("max-delay").as(Duration.class).orElse(d.maxDelay()),
                r.get("max-retry-after").as(Duration.class).orElse(d.maxRetryAfter()));
        return new PushSettings(new EndpointAllowList(hosts, loopback),
                push.get("request-timeout").as(Duration.class).orElse(DEFAULT_REQUEST_TIMEOUT),
                push.get("connect-timeout").as(Duration.class).orElse(DEFAULT_CONNECT_TIMEOUT),
                push.get("default-ttl").as(Duration.class).orElse(DEFAULT_TTL),
                retry, webPush(push.get("webpush"), developmentMode), fcm(push.get("fcm")), apns(push.get("apns")));
    }

    private static WebPush webPush(Config w, boolean developmentMode) {
        Optional<Path> keyFile = text(w.get("vapid-key-file")).map(Path::of);
        boolean enabled = w.get("enabled").asBoolean().orElse(keyFile.isPresent() || developmentMode);
        Optional<String> subject = text(w.get("subject"));
        if (enabled && !developmentMode && keyFile.isEmpty()) {
            throw new IllegalArgumentException("tandem.push.webpush.vapid-key-file is required when web push is on "
                    + "outside development mode");
        }
        if (enabled && !developmentMode && subject.isEmpty()) {
            throw new IllegalArgumentException("tandem.push.webpush.subject is required when web push is on "
                    + "(a mailto: or https: URL where push services can reach the operator)");
        }
        return new WebPush(enabled, keyFile, subject.orElse(DEVELOPMENT_SUBJECT),
                w.get("token-lifetime").as(Duration.class).orElse(DEFAULT_VAPID_TOKEN_LIFETIME));
    }

    private static Optional<Fcm> fcm(Config f) {
        return text(f.get("service-account-file")).map(file -> new Fcm(Path.of(file), text(f.get("project-id")),
                text(f.get("url")).map(URI::create).orElse(FCM_URL)));
    }

    private static Optional<Apns> apns(Config a) {
        return text(a.get("key-file")).map(file -> {
            String env = text(a.get("environment")).orElse("production").toLowerCase(Locale.ROOT);
            URI byEnv = switch (env) {
                case "production" -> APNS_PRODUCTION_URL;
                case "sandbox" -> APNS_SANDBOX_URL;
                default -> throw new IllegalArgumentException("tandem.push.apns.environment must be production or sandbox");
            };
            return new Apns(Path.of(file), text(a.get("key-id")).orElse(""), text(a.get("team-id")).orElse(""),
                    text(a.get("topic")).orElse(""), text(a.get("url")).map(URI::create).orElse(byEnv));
        });
    }

    private static Optional<String> text(Config node) {
        return node.asString().asOptional().map(String::trim).filter(s -> !s.isEmpty());
    }

    private static void required(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("tandem.push." + name + " is required");
        }
    }

    private static void checkBase(URI url, String name) {
        if (url == null || url.getHost() == null
                || !("https".equals(url.getScheme()) || "http".equals(url.getScheme()))) {
            throw new IllegalArgumentException("tandem.push." + name + " must be an absolute http(s) URL");
        }
    }

    private static void positive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("tandem.push." + name + " must be positive");
        }
    }
}
