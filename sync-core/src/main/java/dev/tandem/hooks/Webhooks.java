package dev.tandem.hooks;

import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.channel.ChannelKey;
import dev.tandem.document.Outbox;
import dev.tandem.presence.PresenceListener;
import dev.tandem.telemetry.Telemetry;

/**
 * Webhooks for backends without Kafka: the application's webhook URL receives signed JSON POSTs
 * ({@link Signature}) of {@code {"webhook": "documents" | "presence", "requestId", "events": […]}}
 * and acknowledges a batch with any 2xx.
 *
 * <ul>
 *   <li><b>documents</b>: every accepted change and resolution, as the CloudEvent the outbox row
 *       holds (the same as on Kafka's outbound topic), read from the outbox with its own cursor
 *       and lease: at least once, in order per document, nothing lost while the backend is down
 *       (rows wait; retried with backoff up to 30 s). Backends de-duplicate by the event {@code id}.</li>
 *   <li><b>presence</b>: {@code {"kind": "join" | "leave", "tenant", "channel", "user", "time",
 *       "expired"}}, best effort: kept in a bounded in-memory queue, each batch tried
 *       {@code presence-attempts} times; what a full queue, exhausted retries or a node crash
 *       loses is counted ({@code tandem_hook_calls_total{hook="webhook-presence",outcome="dropped"}}).</li>
 * </ul>
 */
public final class Webhooks implements PresenceListener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Webhooks.class.getName());
    private static final Duration LEASE = Duration.ofSeconds(15);
    private static final long MAX_PAUSE_MILLIS = 30_000;

    private final WebhookSettings settings;
    private final Optional<Outbox> outbox;
    private final String holder;
    private final ObjectMapper mapper;
    private final Telemetry telemetry;
    private final Clock clock;
    private final HttpClient http;
    private final Endpoint presenceEndpoint;
    private final Endpoint documentsEndpoint;
    private final BlockingQueue<ObjectNode> presence;
    private final AtomicLong delivered = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean running = true;

    private Webhooks(WebhookSettings settings, Optional<Outbox> outbox, String holder, ObjectMapper mapper,
                     Telemetry telemetry, Clock clock) {
        this.settings = settings;
        this.outbox = outbox;
        this.holder = holder;
        this.mapper = mapper;
        this.telemetry = telemetry;
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .connectTimeout(settings.target().timeout())
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        Signature signature = new Signature(settings.secret());
        this.presenceEndpoint = new Endpoint("webhook-presence", settings.target(), http, signature, mapper, telemetry,
                clock);
        this.documentsEndpoint = new Endpoint("webhook-documents", settings.target(), http, signature, mapper,
                telemetry, clock);
        this.presence = new ArrayBlockingQueue<>(settings.presenceQueue());
    }

    /**
     * Starts delivering.
     *
     * @param outbox the document store's webhook outbox, when documents are on and there is a store
     * @param holder this node's name in the outbox lease
     */
    public static Webhooks start(WebhookSettings settings, Optional<Outbox> outbox, String holder, ObjectMapper mapper,
                                 Telemetry telemetry, Clock clock) {
        Webhooks w = new Webhooks(settings, settings.documents() ? outbox : Optional.empty(), holder, mapper, telemetry,
                clock);
        if (settings.presence()) {
            w.threads.add(Thread.ofVirtual().name("tandem-webhooks-presence").start(w::presenceLoop));
        }
        if (w.outbox.isPresent()) {
            w.threads.add(Thread.ofVirtual().name("tandem-webhooks-documents").start(w::documentsLoop));
        }
        return w;
    }

    /** Events the backend acknowledged since start. */
    public long delivered() {
        return delivered.get();
    }

    /** Presence events given up since start (full queue, retries exhausted). */
    public long dropped() {
        return dropped.get();
    }

    /** Document changes waiting in the outbox for the webhook, as of now. */
    public long backlog() {
        return outbox.map(Outbox::backlog).orElse(0L);
    }

    // ------------------------------------------------------------------ presence

    @Override
    public void joined(ChannelKey channel, String user) {
        offer(channel, user, "join", false);
    }

    @Override
    public void left(ChannelKey channel, String user, boolean expired) {
        offer(channel, user, "leave", expired);
    }

    private void offer(ChannelKey channel, String user, String kind, boolean expired) {
        if (!settings.presence() || !running) {
            return;
        }
        ObjectNode e = mapper.createObjectNode().put("kind", kind).put("tenant", channel.tenant())
                .put("channel", channel.name().toString()).put("user", user).put("time", clock.instant().toString());
        if (expired) {
            e.put("expired", true);
        }
        if (!presence.offer(e)) {
            drop(1, "the presence queue is full (presence-queue " + settings.presenceQueue() + ")");
        }
    }

    private void presenceLoop() {
        while (running) {
            List<ObjectNode> batch = new ArrayList<>();
            try {
                ObjectNode first = presence.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                presence.drainTo(batch, settings.batch() - 1);
            } catch (InterruptedException e) {
                return;
            }
            long pause = 200;
            boolean sent = false;
            for (int attempt = 1; attempt <= settings.presenceAttempts() && running; attempt++) {
                if (send(presenceEndpoint, "presence", batch)) {
                    sent = true;
                    break;
                }
                if (!sleep(pause)) {
                    return;
                }
                pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
            }
            if (!sent) {
                drop(batch.size(), "the webhook did not acknowledge them after " + settings.presenceAttempts()
                        + " attempts");
            }
        }
    }

    private void drop(int n, String why) {
        dropped.addAndGet(n);
        for (int i = 0; i < n; i++) {
            telemetry.hookCall("webhook-presence", "dropped", 0);
        }
        LOG.log(System.Logger.Level.WARNING, n + " presence webhook event(s) dropped: " + why);
    }

    // ------------------------------------------------------------------ documents

    private void documentsLoop() {
        Outbox box = outbox.orElseThrow();
        long pause = 200;
        while (running) {
            try {
                if (!box.acquireLease(holder, LEASE)) {
                    if (!sleep(LEASE.toMillis() / 3)) {
                        return;
                    }
                    continue;
                }
                List<Outbox.Entry> rows = box.unpublished(settings.batch());
                if (rows.isEmpty()) {
                    if (!sleep(100)) {
                        return;
                    }
                    continue;
                }
                List<ObjectNode> events = new ArrayList<>(rows.size());
                for (Outbox.Entry row : rows) {
                    JsonNode event = mapper.readTree(new String(row.value(), StandardCharsets.UTF_8));
                    events.add(event instanceof ObjectNode o ? o : mapper.createObjectNode().set("value", event));
                }
                if (send(documentsEndpoint, "documents", events) && box.acquireLease(holder, LEASE)) {
                    box.markPublished(rows.stream().map(Outbox.Entry::id).toList());
                    pause = 200;
                } else {
                    if (!sleep(pause)) {
                        return;
                    }
                    pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
                }
            } catch (RuntimeException | java.io.IOException e) {
                // the database is away: the rows wait
                LOG.log(System.Logger.Level.WARNING, "document webhooks: " + e);
                if (!sleep(pause)) {
                    return;
                }
                pause = Math.min(MAX_PAUSE_MILLIS, pause * 2);
            }
        }
    }

    /** POSTs a batch; true when the backend acknowledged it with a 2xx. */
    private boolean send(Endpoint endpoint, String kind, List<ObjectNode> events) {
        ObjectNode body = mapper.createObjectNode().put("webhook", kind).put("requestId", UUID.randomUUID().toString());
        ArrayNode list = body.putArray("events");
        events.forEach(list::add);
        try {
            endpoint.call(body);
            delivered.addAndGet(events.size());
            return true;
        } catch (Endpoint.Failure e) {
            LOG.log(System.Logger.Level.WARNING, kind + " webhook (request " + body.path("requestId").asText()
                    + ", " + events.size() + " event(s)) failed: " + e.getMessage() + "; will retry");
            return false;
        }
    }

    private boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return running;
        } catch (InterruptedException e) {
            return false;
        }
    }

    /** Stops delivering (what waits in the outbox is delivered by the next holder of the lease). */
    @Override
    public void close() {
        running = false;
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        http.close();
    }
}
