package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.RedisServer;
import dev.tandem.harness.Tokens;
import dev.tandem.harness.TrafficClient;
import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault (c): Redis drops the gateways' pub/sub connections ({@code CLIENT KILL TYPE pubsub}) in
 * the middle of traffic. Subscribers on both nodes still get every publication, once, in order
 * (the broker resubscribes and recovers what it missed from the history), and while a
 * subscription stays broken (Redis refuses to let it resubscribe for a while) readiness is DOWN
 * with the {@code broker} check, UP again by itself after. The silent failure this guards
 * against: publishes acknowledged, health green, subscribers getting nothing.
 */
class PubSubKillIT {
    @Test
    void subscribersGetEveryPublicationAcrossKilledPubSubConnectionsAndReadinessShowsTheBreak() throws Exception {
        String run = Cluster.run();
        String t = "ps" + run;
        TestServices.Postgres pg = TestServices.postgres();
        try (RedisServer redis = RedisServer.start("pubsub", false)) {
            Map<String, String> config = Cluster.config(run, redis.url(), pg.jdbcUrl(), pg.user(), pg.password());
            try (GatewayProcess a = GatewayProcess.start("pubsub-a", config);
                 GatewayProcess b = GatewayProcess.start("pubsub-b", config)) {
                List<java.net.URI> uris = List.of(a.ws(), b.ws());
                List<TrafficClient> clients = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    clients.add(TrafficClient.open(Tokens.token("u" + i, t, Tokens.ALL), uris, i % 2,
                            List.of("tenant", "location:wh-1"), Duration.ofSeconds(1)).get(30, TimeUnit.SECONDS));
                }
                List<String> readiness = new CopyOnWriteArrayList<>();
                AtomicBoolean watching = new AtomicBoolean(true);
                Thread watcher = Thread.ofVirtual().start(() -> {
                    while (watching.get()) {
                        for (GatewayProcess n : List.of(a, b)) {
                            String body = n.health("/health/ready");
                            if (Health.down(body, "broker")) {
                                readiness.add(n.name() + ": " + body);
                            }
                        }
                        try {
                            Thread.sleep(50);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                // REST publications stop while the subscriptions are still broken: nothing follows
                // them, so only the broker's catch-up from the history can deliver the last ones
                Traffic rest = new Traffic(t, () -> List.of(a, b)).rest("tenant", 5);
                Traffic kafka = new Traffic(t, () -> List.of(a, b)).kafka(Cluster.topicIn(run), "location:wh-1", 2);
                try {
                    Thread.sleep(2000);
                    // a plain kill: Redisson reconnects by itself
                    redis.command("CLIENT", "KILL", "TYPE", "pubsub");
                    Thread.sleep(2000);
                    // a kill that lasts: Redis refuses to let anyone subscribe for 3 s
                    redis.command("ACL", "SETUSER", "default", "-subscribe", "-psubscribe", "-ssubscribe");
                    redis.command("CLIENT", "KILL", "TYPE", "pubsub");
                    Thread.sleep(3000);
                    rest.stop();
                    List<String> duringBreak = List.copyOf(readiness);
                    redis.command("ACL", "SETUSER", "default", "+@all");
                    assertTrue(duringBreak.stream().anyMatch(s -> s.startsWith("pubsub-a"))
                                    && duringBreak.stream().anyMatch(s -> s.startsWith("pubsub-b")),
                            "readiness DOWN with the broker check on both nodes while their subscriptions were broken; saw "
                                    + duringBreak.stream().limit(4).toList());
                    Thread.sleep(3000);
                } finally {
                    rest.stop();
                    kafka.stop();
                }
                Traffic traffic = rest;
                traffic.producedToKafka.addAll(kafka.producedToKafka);
                traffic.errors.putAll(kafka.errors);
                Judge.awaitAll(clients, "tenant", traffic.published("tenant").stream().map(Traffic.Ack::eventId).toList(),
                        Duration.ofSeconds(30));
                Judge.awaitAll(clients, "location:wh-1", traffic.producedToKafka, Duration.ofSeconds(30));
                Judge.onceInOrder(clients, "tenant", true);
                Judge.onceInOrder(clients, "location:wh-1", true);
                for (TrafficClient c : clients) {
                    assertEquals(1, c.connections(), "the clients' own sockets were never dropped");
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (a.readyStatus() != 200 || b.readyStatus() != 200) {
                    assertTrue(System.nanoTime() < deadline, "readiness UP again by itself: " + a.health("/health/ready")
                            + " / " + b.health("/health/ready"));
                    Thread.sleep(100);
                }
                watching.set(false);
                watcher.join();
                assertTrue(traffic.errors.isEmpty(), "traffic errors: " + traffic.errors);
                clients.forEach(TrafficClient::close);
            }
        }
    }
}
