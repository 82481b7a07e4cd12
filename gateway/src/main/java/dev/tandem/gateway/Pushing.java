package dev.tandem.gateway;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import dev.tandem.channel.ChannelRules;
import dev.tandem.conflict.push.SqlPushStore;
import dev.tandem.operations.DocumentOperations;
import dev.tandem.presence.PresenceStore;
import dev.tandem.push.Device;
import dev.tandem.push.PushDispatcher;
import dev.tandem.push.PushNotices;
import dev.tandem.push.PushProvider;
import dev.tandem.push.PushProviders;
import dev.tandem.push.PushService;
import dev.tandem.push.PushSettings;
import dev.tandem.push.PushStore;
import dev.tandem.push.apns.ApnsProvider;
import dev.tandem.push.fcm.FcmProvider;
import dev.tandem.push.webpush.VapidKeys;
import dev.tandem.push.webpush.WebPushProvider;

import io.helidon.config.Config;

/**
 * Push notifications on this node, when a provider is on: the providers from
 * {@code tandem.push} ({@link PushSettings}), the devices and queue in the documents database
 * ({@link SqlPushStore}), the {@link PushDispatcher} sending from the queue and the
 * {@link PushService} the API calls. A user counts as connected while one of their connections on
 * any node is subscribed to their own {@code user:} channel (its presence, in Redis in cluster
 * mode). Settings of its own under {@code tandem.push}: {@code max-devices-per-user} (10),
 * {@code poll-interval} (PT1S), {@code batch} (32), {@code history-retention} (P7D),
 * {@code db-pool-size} (4), {@code notices} ([]: which of the node's own durable notices are pushed,
 * {@code conflict}, {@code overwritten} and {@code rejected}; see {@link PushNotices}).
 */
final class Pushing implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Pushing.class.getName());

    /** The VAPID key file a development node makes beside its H2 database file. */
    static final String VAPID_FILE = "vapid-key.jwk";

    final PushSettings settings;
    final PushService service;
    private final PushStore store;
    private final PushDispatcher dispatcher;

    private Pushing(PushSettings settings, PushService service, PushStore store, PushDispatcher dispatcher) {
        this.settings = settings;
        this.service = service;
        this.store = store;
        this.dispatcher = dispatcher;
    }

    /**
     * Push as configured, or empty when no provider is on (nothing is opened then).
     *
     * @param tandem the {@code tandem} node
     * @param db     the documents database node ({@code url}, {@code username}, …)
     * @param holder this process's name for leases
     */
    static Optional<Pushing> create(Config tandem, boolean devMode, Config db, PresenceStore presence, ChannelRules rules,
                                    DocumentOperations documents, String holder, Clock clock) {
        Config push = tandem.get("push");
        PushSettings settings = PushSettings.create(push, devMode);
        Optional<VapidKeys> vapid = settings.webPush().enabled() ? Optional.of(vapidKeys(settings, db)) : Optional.empty();
        HttpClient http1 = client(settings, HttpClient.Version.HTTP_1_1);
        HttpClient http2 = client(settings, HttpClient.Version.HTTP_2);
        PushProviders providers = new PushProviders(
                vapid.map(keys -> (PushProvider<Device.WebPush>) new WebPushProvider(settings.webPush(), keys,
                        settings.endpoints(), http1, settings.requestTimeout(), clock)),
                settings.fcm().map(f -> (PushProvider<Device.Fcm>) load("tandem.push.fcm.service-account-file",
                        () -> FcmProvider.create(f, http2, settings.requestTimeout(), clock))),
                settings.apns().map(a -> (PushProvider<Device.Apns>) load("tandem.push.apns.key-file",
                        () -> ApnsProvider.create(a, http2, settings.requestTimeout(), clock))));
        if (!providers.supports(Device.Kind.WEBPUSH) && !providers.supports(Device.Kind.FCM)
                && !providers.supports(Device.Kind.APNS)) {
            return Optional.empty();
        }
        SqlPushStore store = SqlPushStore.create(db, push.get("db-pool-size").asInt().orElse(4));
        try {
            PushDispatcher dispatcher = new PushDispatcher(store, providers, settings,
                    push.get("poll-interval").as(Duration.class).orElse(Duration.ofSeconds(1)),
                    push.get("batch").asInt().orElse(32), holder,
                    push.get("history-retention").as(Duration.class).orElse(Duration.ofDays(7)),
                    PushMeters.create(store::backlog), clock);
            PushService.Online online = (tenant, user) ->
                    !presence.members(rules.resolve(tenant, "user:" + user)).isEmpty();
            PushService service = new PushService(store, providers, settings.endpoints(), online,
                    push.get("max-devices-per-user").asInt().orElse(10),
                    vapid.map(VapidKeys::publicKeyBase64Url), dispatcher::wake, clock);
            Set<PushNotices.Kind> notices = ConfigLists.strings(push.get("notices"), List.of()).stream()
                    .map(PushNotices.Kind::fromConfig).collect(java.util.stream.Collectors.toSet());
            if (!notices.isEmpty()) {
                documents.listen(new PushNotices(service, notices, settings.defaultTtl()));
            }
            LOG.log(System.Logger.Level.INFO, "push on: " + (providers.supports(Device.Kind.WEBPUSH) ? "webpush " : "")
                    + (providers.supports(Device.Kind.FCM) ? "fcm " : "") + (providers.supports(Device.Kind.APNS) ? "apns" : ""));
            return Optional.of(new Pushing(settings, service, store, dispatcher));
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /**
     * The configured key pair; without one (development mode) a pair made once and kept beside the
     * H2 database file, or for an in-memory database one for this run only.
     */
    private static VapidKeys vapidKeys(PushSettings settings, Config db) {
        Optional<Path> file = settings.webPush().vapidKeyFile().or(() -> dataDir(db).map(d -> d.resolve(VAPID_FILE)));
        if (file.isEmpty()) {
            return VapidKeys.generate();
        }
        try {
            VapidKeys keys = settings.webPush().vapidKeyFile().isPresent() ? VapidKeys.load(file.get())
                    : VapidKeys.loadOrCreate(file.get());
            LOG.log(System.Logger.Level.INFO, "VAPID key pair from " + file.get());
            return keys;
        } catch (IOException e) {
            throw new IllegalArgumentException("tandem.push.webpush.vapid-key-file: cannot read " + file.get() + ": " + e);
        }
    }

    /** The directory of the node's data: where its H2 file lives, {@code ./data} with PostgreSQL, none in memory. */
    private static Optional<Path> dataDir(Config db) {
        String url = db.get("url").asString().orElse("jdbc:h2:file:./data/tandem");
        if (url.startsWith("jdbc:h2:mem:")) {
            return Optional.empty();
        }
        if (url.startsWith("jdbc:h2:file:") || (url.startsWith("jdbc:h2:") && !url.startsWith("jdbc:h2:tcp:"))) {
            String path = url.substring(url.startsWith("jdbc:h2:file:") ? "jdbc:h2:file:".length() : "jdbc:h2:".length());
            int semi = path.indexOf(';');
            Path p = Path.of(semi < 0 ? path : path.substring(0, semi));
            return Optional.of(p.toAbsolutePath().getParent());
        }
        return Optional.of(Path.of("data"));
    }

    /** A client for push services: redirects are never followed (the host checked is the host called). */
    private static HttpClient client(PushSettings settings, HttpClient.Version version) {
        return HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(settings.connectTimeout()).version(version).build();
    }

    private static <T> T load(String setting, java.util.concurrent.Callable<T> make) {
        try {
            return make.call();
        } catch (Exception e) {
            throw new IllegalArgumentException(setting + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        dispatcher.close();
        store.close();
    }
}
