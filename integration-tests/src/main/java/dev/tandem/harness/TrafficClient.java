package dev.tandem.harness;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A light, resuming WebSocket client for fault tests and the soak: one JDK WebSocket on a
 * shared {@link HttpClient}, subscribed to a few channels. When its socket closes it reconnects
 * to the next node of its list (after a short random delay), resubscribes every channel with
 * {@code since} = the last position it saw, and de-duplicates by offset as the protocol asks
 * clients to. It records what it received so a test can judge, per channel, that every
 * acknowledged publication arrived, that no offset was handed on twice, that offsets had no
 * silent gap, and which recoveries the server refused ({@code recovered: false}).
 */
public final class TrafficClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .executor(Executors.newFixedThreadPool(4, Thread.ofPlatform().daemon().name("traffic-ws-", 0).factory()))
            .connectTimeout(Duration.ofSeconds(10)).build();
    private static final ScheduledExecutorService TIMER = Executors.newScheduledThreadPool(1,
            Thread.ofPlatform().daemon().name("traffic-timer").factory());

    private final String token;
    private final List<URI> nodes;
    private final List<String> channels;
    private final Duration maxReconnectDelay;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, ChannelLog> logs = new LinkedHashMap<>();
    private final AtomicInteger requestIds = new AtomicInteger(1);
    private final Map<Integer, String> pendingSubscribes = new HashMap<>();
    private final List<String> problems = new ArrayList<>();
    private final AtomicInteger transientErrors = new AtomicInteger();
    private volatile WebSocket socket;
    private volatile WebSocket lastLost;
    private volatile int node;
    private volatile boolean closed;
    private volatile long disconnectedAtNanos = -1;
    private volatile CompletableFuture<Long> resumed = new CompletableFuture<>();
    private volatile int connections;
    private final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();

    /** What one channel delivered to this client, after de-duplication by offset; guarded by the lock. */
    private static final class ChannelLog {
        /** The epoch of the last position. */
        public String epoch;
        /** The last offset handed on. */
        public long last;
        /** Event ids handed on, in order. */
        public final List<String> eventIds = new ArrayList<>();
        /** Offsets handed on, in order (the epoch of each in {@link #epochs}). */
        public final List<Long> offsets = new ArrayList<>();
        public final List<String> epochs = new ArrayList<>();
        /** Redeliveries dropped by offset. */
        public int duplicatesDropped;
        /** Subscribes with {@code since} answered {@code recovered: false}. */
        public int recoveryRefused;
        /** Live events that moved the channel to a new epoch (at its offset 1). */
        public int epochChanges;
        /** Offsets that jumped without the server saying so (silent gaps). */
        public final List<String> silentGaps = new ArrayList<>();
        boolean toldLost;
    }

    private final boolean record;

    private TrafficClient(String token, List<URI> nodes, int first, List<String> channels, Duration maxReconnectDelay,
                          boolean record) {
        this.record = record;
        this.token = token;
        this.nodes = List.copyOf(nodes);
        this.node = first;
        this.channels = List.copyOf(channels);
        this.maxReconnectDelay = maxReconnectDelay;
        for (String c : channels) {
            logs.put(c, new ChannelLog());
        }
    }

    /**
     * Connects to {@code nodes.get(first)} and subscribes; the future completes when every
     * channel's subscribe was answered.
     */
    public static CompletableFuture<TrafficClient> open(String token, List<URI> nodes, int first, List<String> channels,
                                                        Duration maxReconnectDelay) {
        return open(token, nodes, first, channels, maxReconnectDelay, true);
    }

    /**
     * As {@link #open(String, List, int, List, Duration)}; with {@code record} false the client
     * keeps positions and counts but not the event ids and offsets (for long runs).
     */
    public static CompletableFuture<TrafficClient> open(String token, List<URI> nodes, int first, List<String> channels,
                                                        Duration maxReconnectDelay, boolean record) {
        TrafficClient c = new TrafficClient(token, nodes, first, channels, maxReconnectDelay, record);
        CompletableFuture<Long> r = c.resumed;
        c.connect();
        return r.thenApply(x -> c);
    }

    private void connect() {
        if (closed) {
            return;
        }
        URI uri = nodes.get(node);
        HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + token).connectTimeout(Duration.ofSeconds(10))
                .buildAsync(uri, new Listener()).whenComplete((ws, e) -> {
                    if (e != null) {
                        retry();
                        return;
                    }
                    socket = ws;
                    connections++;
                    subscribeAll(ws);
                });
    }

    private void subscribeAll(WebSocket ws) {
        List<String> out = new ArrayList<>();
        lock.lock();
        try {
            pendingSubscribes.clear();
            for (String channel : channels) {
                int id = requestIds.incrementAndGet();
                pendingSubscribes.put(id, channel);
                ChannelLog log = logs.get(channel);
                String since = log.epoch == null ? ""
                        : ",\"since\":{\"epoch\":\"" + log.epoch + "\",\"offset\":" + log.last + "}";
                out.add("{\"op\":\"subscribe\",\"id\":" + id + ",\"channel\":\"" + channel + "\"" + since + "}");
            }
        } finally {
            lock.unlock();
        }
        sendAll(ws, out, 0);
    }

    private void sendAll(WebSocket ws, List<String> frames, int i) {
        if (i >= frames.size()) {
            return;
        }
        ws.sendText(frames.get(i), true).whenComplete((w, e) -> {
            if (e == null) {
                sendAll(ws, frames, i + 1);
            }
        });
    }

    private void retry() {
        if (closed) {
            return;
        }
        node = (node + 1) % nodes.size();
        long delay = ThreadLocalRandom.current().nextLong(Math.max(1, maxReconnectDelay.toMillis()));
        TIMER.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private void onFrame(String text) {
        JsonNode f;
        try {
            f = JSON.readTree(text);
        } catch (Exception e) {
            problem("non-JSON frame: " + text);
            return;
        }
        String op = f.path("op").asText();
        lock.lock();
        try {
            switch (op) {
                case "reply" -> onReply(f);
                case "event" -> onEvent(f);
                case "error" -> onError(f);
                default -> {
                    // welcome, presence, disconnect: nothing to judge here
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void onReply(JsonNode f) {
        String channel = pendingSubscribes.remove(f.path("id").asInt());
        if (channel == null) {
            return;
        }
        ChannelLog log = logs.get(channel);
        if (log.epoch != null && f.has("recovered") && !f.path("recovered").asBoolean()) {
            // told: what came between is lost; continue from the channel's newest position
            log.recoveryRefused++;
            log.toldLost = true;
        }
        if (log.epoch == null || log.toldLost) {
            log.epoch = f.path("epoch").asText();
            log.last = f.path("offset").asLong();
            log.toldLost = false;
        }
        if (pendingSubscribes.isEmpty()) {
            long t = System.nanoTime();
            resumed.complete(disconnectedAtNanos < 0 ? 0 : t - disconnectedAtNanos);
        }
    }

    /**
     * An error frame. A transient refusal ({@code unavailable} while Redis is slow or away,
     * {@code rate_limited}) is what a client is told to retry, as the project's clients do: a
     * refused subscribe is sent again after a short pause, a refused connection (no id; the node
     * closes it next) reconnects. Any other error is a problem the test judges.
     */
    private void onError(JsonNode f) {
        String code = f.path("code").asText();
        if (!(code.equals("unavailable") || code.equals("rate_limited"))) {
            problem("error: " + f);
            return;
        }
        transientErrors.incrementAndGet();
        int id = f.path("id").asInt();
        String channel = pendingSubscribes.get(id);
        if (channel == null) {
            return; // the connection was refused: its close brings the reconnect
        }
        pendingSubscribes.remove(id);
        WebSocket ws = socket;
        long delay = 100 + ThreadLocalRandom.current().nextLong(400);
        TIMER.schedule(() -> resubscribe(ws, channel), delay, TimeUnit.MILLISECONDS);
    }

    private void resubscribe(WebSocket ws, String channel) {
        String frame;
        lock.lock();
        try {
            if (closed || ws == null || ws != socket) {
                return; // the socket was lost meanwhile: the reconnect subscribes everything again
            }
            int id = requestIds.incrementAndGet();
            pendingSubscribes.put(id, channel);
            ChannelLog log = logs.get(channel);
            String since = log.epoch == null ? ""
                    : ",\"since\":{\"epoch\":\"" + log.epoch + "\",\"offset\":" + log.last + "}";
            frame = "{\"op\":\"subscribe\",\"id\":" + id + ",\"channel\":\"" + channel + "\"" + since + "}";
        } finally {
            lock.unlock();
        }
        sendAll(ws, List.of(frame), 0);
    }

    /** Transient refusals (connections and subscribes) this client was told to retry, and retried. */
    public int transientErrors() {
        return transientErrors.get();
    }

    private void onEvent(JsonNode f) {
        received.incrementAndGet();
        if (!f.has("offset")) {
            return; // ephemeral
        }
        String channel = f.path("channel").asText();
        ChannelLog log = logs.get(channel);
        if (log == null) {
            return;
        }
        String epoch = f.path("epoch").asText();
        long offset = f.path("offset").asLong();
        if (log.epoch != null && epoch.equals(log.epoch) && offset <= log.last) {
            log.duplicatesDropped++;
            return;
        }
        if (log.epoch != null && epoch.equals(log.epoch) && offset != log.last + 1) {
            log.silentGaps.add(log.epoch + ":" + log.last + "->" + offset);
        } else if (log.epoch != null && !epoch.equals(log.epoch)) {
            // the channel started over (its history is gone): visible, as long as nothing of the
            // new epoch was skipped
            log.epochChanges++;
            if (offset != 1) {
                log.silentGaps.add("epoch " + log.epoch + "->" + epoch + " at offset " + offset);
            }
        }
        log.epoch = epoch;
        log.last = offset;
        if (record) {
            log.offsets.add(offset);
            log.epochs.add(epoch);
            log.eventIds.add(f.path("eventId").asText());
        }
    }

    private void problem(String p) {
        lock.lock();
        try {
            if (problems.size() < 20) {
                problems.add(p);
            }
        } finally {
            lock.unlock();
        }
    }

    private final class Listener implements WebSocket.Listener {
        /** One socket's message being assembled from fragments (its callbacks never overlap). */
        private final StringBuilder partial = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                onFrame(text);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            lost(ws);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            lost(ws);
        }

        private void lost(WebSocket ws) {
            if (closed || ws == lastLost || socket != null && ws != socket) {
                return; // an earlier socket's late news, or the same loss told twice
            }
            lastLost = ws;
            lock.lock();
            try {
                disconnectedAtNanos = System.nanoTime();
                resumed = new CompletableFuture<>();
            } finally {
                lock.unlock();
            }
            retry();
        }
    }

    /** Completes with the nanoseconds from the last disconnect to all channels resubscribed. */
    public CompletableFuture<Long> resumed() {
        return resumed;
    }

    /** Whether the socket is currently open and every channel subscribed. */
    public boolean live() {
        return resumed.isDone() && !closed;
    }

    /** The index of the node this client is (or will next be) connected to. */
    public int node() {
        return node;
    }

    /** Events received so far (before de-duplication). */
    public long received() {
        return received.get();
    }

    /** How many sockets this client opened. */
    public int connections() {
        return connections;
    }

    /** What one channel handed on so far, copied. */
    public record View(String epoch, long last, List<String> eventIds, List<Long> offsets, int duplicatesDropped,
                       int recoveryRefused, int epochChanges, List<String> silentGaps) {
    }

    /** A copy of one channel's log. */
    public View view(String channel) {
        lock.lock();
        try {
            ChannelLog l = logs.get(channel);
            return new View(l.epoch, l.last, List.copyOf(l.eventIds), List.copyOf(l.offsets), l.duplicatesDropped,
                    l.recoveryRefused, l.epochChanges, List.copyOf(l.silentGaps));
        } finally {
            lock.unlock();
        }
    }

    /** The last position seen on a channel, if any. */
    public Optional<Long> last(String channel) {
        lock.lock();
        try {
            ChannelLog l = logs.get(channel);
            return l == null || l.epoch == null ? Optional.empty() : Optional.of(l.last);
        } finally {
            lock.unlock();
        }
    }

    /** Protocol errors and malformed frames this client saw. */
    public List<String> problems() {
        lock.lock();
        try {
            return List.copyOf(problems);
        } finally {
            lock.unlock();
        }
    }

    /** Sends a raw frame on the current socket (best effort). */
    public void send(String frame) {
        WebSocket ws = socket;
        if (ws != null) {
            ws.sendText(frame, true);
        }
    }

    /** Closes for good (no reconnect). */
    public void close() {
        closed = true;
        WebSocket ws = socket;
        if (ws != null) {
            ws.sendClose(1000, "bye").orTimeout(2, TimeUnit.SECONDS).whenComplete((w, e) -> ws.abort());
        }
    }

    /** Drops the socket without a close handshake (as a crashed device would). */
    public void abort() {
        WebSocket ws = socket;
        if (ws != null) {
            ws.abort();
        }
    }
}
