package dev.tandem.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import dev.tandem.harness.FreezingProxy;
import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.Tokens;
import dev.tandem.harness.TrafficClient;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis hangs (a {@link FreezingProxy} holds every byte for {@value #FREEZE_SECONDS} s and closes
 * nothing) under two packaged nodes with the default {@code tandem.redis.timeout-budget} (2 s),
 * measured from outside: readiness turns 503 within the budget plus a probe interval and every
 * health answer takes under a second throughout; a REST publish is answered 503 within the
 * budget, not after the Redis client's retries; a new WebSocket connection whose token came in
 * the upgrade is answered {@code unavailable} within the budget, never closed as "no connect
 * frame"; after the freeze both nodes are ready again and every accepted publication reaches
 * the subscribers of both nodes.
 */
class RedisHangIT {
    private static final int FREEZE_SECONDS = 12;
    private static final long BUDGET_MS = 2000;
    private static final long PROBE_INTERVAL_MS = 500;
    /** Scheduling slack on a shared 2-core machine. */
    private static final long SLACK_MS = 1000;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private record Answer(String node, long atMs, int status, long tookMs, String body) {
        Answer(String node, long atMs, int status, long tookMs) {
            this(node, atMs, status, tookMs, "");
        }

        @Override
        public String toString() {
            return node + "@" + atMs + "ms:" + status + "/" + tookMs + "ms" + (body.isEmpty() ? "" : " " + body);
        }
    }

    @Test
    void aHangingRedisIsAnsweredWithinTheBudgetAndNothingAcceptedIsLost() throws Exception {
        String run = Cluster.run();
        String tenant = "hang" + run;
        String service = Tokens.service(tenant);
        URI redis = URI.create(TestServices.redis());
        TestServices.Postgres pg = TestServices.postgres();
        try (FreezingProxy proxy = new FreezingProxy(redis.getHost(), redis.getPort())) {
            Map<String, String> config = new HashMap<>(Map.of(
                    "tandem.redis.address", proxy.redisUrl(),
                    "tandem.db.url", pg.jdbcUrl(), "tandem.db.username", pg.user(),
                    "tandem.db.password", pg.password(), "tandem.db.schema", "it_" + run,
                    "tandem.connections-per-address", "100000",
                    // shorter than the budget: a connect waiting on Redis must still not be cut as "no connect frame"
                    "tandem.limits.auth-timeout", "PT1S"));
            try (GatewayProcess a = GatewayProcess.start("hang-a", config);
                 GatewayProcess b = GatewayProcess.start("hang-b", config)) {
                List<GatewayProcess> nodes = List.of(a, b);
                List<URI> uris = List.of(a.ws(), b.ws());
                List<TrafficClient> subscribers = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    subscribers.add(TrafficClient.open(Tokens.token("s" + i, tenant, Tokens.ALL), uris, i % 2,
                            List.of("tenant"), Duration.ofSeconds(1)).get(30, TimeUnit.SECONDS));
                }
                long t0 = System.nanoTime();
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicLong frozenAt = new AtomicLong(Long.MAX_VALUE);
                AtomicLong thawedAt = new AtomicLong(Long.MAX_VALUE);
                List<Answer> health = new CopyOnWriteArrayList<>();
                List<Answer> publishes = new CopyOnWriteArrayList<>();
                List<String> accepted = new CopyOnWriteArrayList<>();
                Map<String, String> errors = new ConcurrentHashMap<>();
                List<Thread> threads = new ArrayList<>();
                for (GatewayProcess n : nodes) {
                    threads.add(Thread.ofVirtual().start(() -> {
                        while (running.get()) {
                            health.add(get(n, "/health/ready", t0));
                            health.add(get(n, "/health", t0));
                            sleep(100);
                        }
                    }));
                }
                threads.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; running.get(); i++) {
                        GatewayProcess n = nodes.get(i % 2);
                        String id = "hang-" + i;
                        long start = System.nanoTime();
                        try {
                            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(n.http("/api/v1/publish"))
                                    .timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + service)
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"channel\":\"tenant\",\"type\":\"n\","
                                            + "\"eventId\":\"" + id + "\",\"data\":{\"n\":" + i + "}}")).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            publishes.add(new Answer(n.name(), ms(start - t0), r.statusCode(), ms(System.nanoTime() - start)));
                            if (r.statusCode() / 100 == 2) {
                                accepted.add(id);
                            } else if (r.statusCode() != 503) {
                                errors.put(id, r.statusCode() + " " + r.body());
                            }
                        } catch (Exception e) {
                            // a backend with a 5 s timeout: no answer in time counts as failed
                            publishes.add(new Answer(n.name(), ms(start - t0), -1, ms(System.nanoTime() - start)));
                            errors.put(id, "no answer within 5 s: " + e);
                        }
                        sleep(100);
                    }
                }));

                // a connect burst with no fault: readiness must not flap
                sleep(1000);
                long burstStart = ms(System.nanoTime() - t0);
                AtomicLong refused = new AtomicLong();
                int welcomed = burst(nodes, tenant, 500, refused);
                long burstEnd = ms(System.nanoTime() - t0);
                System.out.println("burst of 500 connections: " + welcomed + " welcomed in " + (burstEnd - burstStart)
                        + " ms, " + refused + " connects refused as unavailable and opened again");
                sleep(1000);
                List<Answer> flaps = health.stream().filter(h -> h.atMs() >= burstStart && h.atMs() <= burstEnd + 1000
                        && h.status() != 200).toList();
                assertTrue(flaps.isEmpty(), "health not 200 during a connect burst without a fault: " + flaps);
                assertEquals(500, welcomed, "every connection of the burst was welcomed");

                proxy.freeze();
                frozenAt.set(ms(System.nanoTime() - t0));
                sleep(1000);
                // connections opened during the freeze, token in the upgrade
                List<String> connects = new ArrayList<>();
                List<Long> connectMs = new ArrayList<>();
                for (GatewayProcess n : nodes) {
                    long start = System.nanoTime();
                    String outcome = connect(n.ws(), Tokens.token("late", tenant, Tokens.ALL));
                    connectMs.add(ms(System.nanoTime() - start));
                    connects.add(n.name() + ": " + outcome);
                }
                sleep(FREEZE_SECONDS * 1000L - 1000 - connectMs.stream().mapToLong(Long::longValue).sum());
                proxy.unfreeze();
                thawedAt.set(ms(System.nanoTime() - t0));
                for (GatewayProcess n : nodes) {
                    n.awaitReady(Duration.ofSeconds(30));
                }
                sleep(2000);
                running.set(false);
                for (Thread t : threads) {
                    t.join(15_000);
                }
                long freeze = frozenAt.get();
                long thaw = thawedAt.get();
                System.out.println("Redis hang of " + FREEZE_SECONDS + " s: connects " + connects + " in " + connectMs
                        + " ms; publishes " + summary(publishes, freeze, thaw) + "; health " + summary(health, freeze, thaw));

                // readiness: 503 within the budget plus a probe interval, on each node
                for (GatewayProcess n : nodes) {
                    long down = health.stream().filter(h -> h.node().equals(n.name()) && h.atMs() > freeze
                            && h.status() == 503).mapToLong(Answer::atMs).min().orElse(Long.MAX_VALUE);
                    assertTrue(down - freeze <= BUDGET_MS + PROBE_INTERVAL_MS + SLACK_MS,
                            n.name() + " readiness went 503 " + (down - freeze) + " ms into the freeze");
                }
                // every health answer (ready and liveness) takes under a second, frozen or not
                List<Answer> slowHealth = health.stream().filter(h -> h.tookMs() >= 1000 || h.status() < 0).toList();
                assertTrue(slowHealth.isEmpty(), "health answers of 1 s or more: " + slowHealth);
                // REST publishes during the freeze: 503 within the budget, none waited past it
                List<Answer> frozenPublishes = publishes.stream().filter(p -> p.atMs() > freeze + 100
                        && p.atMs() + p.tookMs() < thaw).toList();
                assertFalse(frozenPublishes.isEmpty(), "publishes were tried during the freeze");
                List<Answer> slowPublishes = frozenPublishes.stream().filter(p -> p.status() != 503
                        || p.tookMs() > BUDGET_MS + SLACK_MS).toList();
                assertTrue(slowPublishes.isEmpty(), "publishes not answered 503 within the budget: " + slowPublishes);
                assertTrue(errors.isEmpty(), "answers other than success or 503: " + errors);
                // new connections: unavailable within the budget, never the auth timeout
                for (int i = 0; i < connects.size(); i++) {
                    assertTrue(connects.get(i).contains("\"code\":\"unavailable\""), connects.get(i));
                    assertFalse(connects.get(i).contains("4002"), connects.get(i));
                    assertTrue(connectMs.get(i) <= BUDGET_MS + SLACK_MS, "connect answered after " + connectMs.get(i) + " ms");
                }
                // every accepted publication reaches every subscriber, on both nodes
                Judge.awaitAll(subscribers, "tenant", accepted, Duration.ofSeconds(30));
                Judge.onceInOrder(subscribers, "tenant", true);
                assertTrue(accepted.size() > 20, "publications were accepted before and after: " + accepted.size());
                subscribers.forEach(TrafficClient::close);
            }
        }
    }

    /** Connects with the token in the upgrade and returns what the server sent until it closed, or after 10 s. */
    private static String connect(URI uri, String token) throws Exception {
        StringBuilder got = new StringBuilder();
        CompletableFuture<String> closed = new CompletableFuture<>();
        try {
            WebSocket ws = HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                    .subprotocols(FrameCodec.SUBPROTOCOL).connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(uri, new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            synchronized (got) {
                                got.append(data);
                            }
                            w.request(1);
                            return null;
                        }

                        @Override
                        public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                            closed.complete("close " + code + " " + reason);
                            return null;
                        }

                        @Override
                        public void onError(WebSocket w, Throwable error) {
                            closed.complete("error " + error);
                        }
                    }).get(10, TimeUnit.SECONDS);
            String end;
            try {
                end = closed.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                end = "still open after 10 s";
                ws.abort();
            }
            synchronized (got) {
                return got + " | " + end;
            }
        } catch (Exception e) {
            return "upgrade failed: " + e;
        }
    }

    private static Answer get(GatewayProcess n, String path, long t0) {
        long start = System.nanoTime();
        int status;
        String body;
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(n.http(path)).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            status = r.statusCode();
            body = status == 200 ? "" : r.body();
        } catch (Exception e) {
            status = -1;
            body = String.valueOf(e);
        }
        return new Answer(n.name() + (path.endsWith("ready") ? "" : path), ms(start - t0), status,
                ms(System.nanoTime() - start), body);
    }

    /**
     * Opens {@code count} WebSocket connections at once, token in the upgrade, spread over the
     * nodes, waits until each was welcomed, then closes them.
     */
    /**
     * Opens {@code count} connections at once and answers how many were welcomed. A connection
     * refused as {@code unavailable} (a Redis call of its connect missed the time budget while two
     * nodes, their clients and Redis share two cores) is opened again after a pause, up to five
     * times, as both clients do; the refusals are counted in {@code refused}.
     */
    private static int burst(List<GatewayProcess> nodes, String tenant, int count, AtomicLong refused)
            throws Exception {
        java.util.concurrent.CountDownLatch welcomed = new java.util.concurrent.CountDownLatch(count);
        List<WebSocket> sockets = new CopyOnWriteArrayList<>();
        List<Thread> openers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int n = i;
            openers.add(Thread.ofVirtual().start(() -> {
                for (int attempt = 1; attempt <= 5; attempt++) {
                    CompletableFuture<Boolean> outcome = new CompletableFuture<>();
                    try {
                        sockets.add(HTTP.newWebSocketBuilder().header("Authorization", "Bearer "
                                + Tokens.token("b" + n, tenant, Tokens.ALL)).subprotocols(FrameCodec.SUBPROTOCOL)
                                .connectTimeout(Duration.ofSeconds(30)).buildAsync(nodes.get(n % nodes.size()).ws(),
                                        new WebSocket.Listener() {
                                            @Override
                                            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                                                String text = data.toString();
                                                if (text.contains("\"welcome\"")) {
                                                    outcome.complete(true);
                                                } else if (text.contains("\"unavailable\"")) {
                                                    outcome.complete(false);
                                                }
                                                w.request(1);
                                                return null;
                                            }
                                        }).get(30, TimeUnit.SECONDS));
                        if (outcome.get(30, TimeUnit.SECONDS)) {
                            welcomed.countDown();
                            return;
                        }
                        refused.incrementAndGet();
                        Thread.sleep(200L * attempt);
                    } catch (Exception e) {
                        return; // not welcomed: counted by the caller
                    }
                }
            }));
        }
        welcomed.await(60, TimeUnit.SECONDS);
        for (Thread t : openers) {
            t.join(Duration.ofSeconds(1));
        }
        sockets.forEach(WebSocket::abort);
        return count - (int) welcomed.getCount();
    }

    /** Counts and the slowest answer before, during and after the freeze. */
    private static String summary(List<Answer> answers, long freeze, long thaw) {
        Map<String, List<Answer>> phases = new java.util.LinkedHashMap<>();
        for (Answer x : answers) {
            String phase = x.atMs() < freeze ? "before" : x.atMs() < thaw ? "frozen" : "after";
            phases.computeIfAbsent(phase, k -> new ArrayList<>()).add(x);
        }
        StringBuilder s = new StringBuilder();
        phases.forEach((phase, list) -> {
            Map<Integer, Long> byStatus = new java.util.TreeMap<>();
            list.forEach(x -> byStatus.merge(x.status(), 1L, Long::sum));
            s.append(phase).append(' ').append(byStatus).append(" slowest ")
                    .append(list.stream().mapToLong(Answer::tookMs).max().orElse(0)).append(" ms; ");
        });
        return s.toString();
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(Math.max(0, ms));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
