package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.RedisServer;
import dev.tandem.harness.Tokens;
import dev.tandem.harness.TrafficClient;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault (b): Redis is killed (SIGKILL) and started again while traffic flows, on a private
 * Redis. With AOF ({@code appendfsync always}) nothing acknowledged is lost and clients keep
 * their epochs; without persistence channels start new epochs, which clients see (a live
 * event at offset 1 of the new epoch, or {@code recovered: false} when they resume from an old
 * position), never a silent gap.
 */
class RedisRestartIT {
    private static final List<String> CHANNELS = List.of("tenant", "location:wh-1");

    @Test
    void withAppendOnlyPersistenceNothingAcknowledgedIsLost() throws Exception {
        Result r = restartUnderTraffic(true);
        for (TrafficClient c : r.clients) {
            for (String channel : CHANNELS) {
                assertEquals(0, c.view(channel).epochChanges(), "AOF keeps the epoch of " + channel);
            }
        }
        Judge.onceInOrder(r.clients, "tenant", true);
        Judge.onceInOrder(r.clients, "location:wh-1", true);
        for (int i = 0; i < r.inboxClients.size(); i++) {
            Judge.onceInOrder(List.of(r.inboxClients.get(i)), "user:u" + i, true);
        }
    }

    @Test
    void withoutPersistenceChannelsStartNewEpochsThatClientsSeeNeverASilentGap() throws Exception {
        Result r = restartUnderTraffic(false);
        for (TrafficClient c : r.clients) {
            assertTrue(c.view("tenant").epochChanges() >= 1, "the new epoch of tenant is visible to the client");
        }
        Judge.onceInOrder(r.clients, "tenant", false);
        Judge.onceInOrder(r.clients, "location:wh-1", false);
        // a client resuming from a position of the old epoch is told to re-read
        String oldEpoch = r.firstEpoch;
        assertFalse(oldEpoch.equals(r.lastEpoch), "tenant moved to a new epoch");
        try (WsProbe p = WsProbe.connect(r.node.ws(), Tokens.token("late", r.tenant, Tokens.ALL))) {
            JsonNode reply = p.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"tenant\",\"since\":{\"epoch\":\""
                    + oldEpoch + "\",\"offset\":1}}");
            assertFalse(reply.path("recovered").asBoolean(true), reply.toString());
        } finally {
            r.node.close();
            r.redis.close();
        }
    }

    private record Result(List<TrafficClient> clients, List<TrafficClient> inboxClients, String tenant, String firstEpoch,
                          String lastEpoch, GatewayProcess node, RedisServer redis) {
    }

    /** Two nodes on a private Redis; kill Redis for 2 s mid-traffic; wait until every acknowledged publication arrived. */
    private static Result restartUnderTraffic(boolean aof) throws Exception {
        String run = Cluster.run();
        String t = "rr" + run;
        TestServices.Postgres pg = TestServices.postgres();
        RedisServer redis = RedisServer.start(aof ? "restart-aof" : "restart-none", aof);
        Map<String, String> config = Cluster.config(run, redis.url(), pg.jdbcUrl(), pg.user(), pg.password());
        GatewayProcess a = GatewayProcess.start("redis-restart-a", config);
        boolean keepA = false;
        try (GatewayProcess b = GatewayProcess.start("redis-restart-b", config)) {
            List<java.net.URI> uris = List.of(a.ws(), b.ws());
            List<TrafficClient> clients = new ArrayList<>();
            List<TrafficClient> inboxClients = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                List<String> channels = new ArrayList<>(CHANNELS);
                if (aof && i < 4) {
                    channels.add("user:u" + i);
                }
                TrafficClient c = TrafficClient.open(Tokens.token("u" + i, t, Tokens.ALL), uris, i % 2, channels,
                        Duration.ofSeconds(1)).get(30, TimeUnit.SECONDS);
                clients.add(c);
                if (aof && i < 4) {
                    inboxClients.add(c);
                }
            }
            Traffic traffic = new Traffic(t, () -> List.of(a, b)).rest("tenant", 5)
                    .kafka(Cluster.topicIn(run), "location:wh-1", 2);
            if (aof) {
                traffic.inbox(List.of("u0", "u1", "u2", "u3"), 2);
            }
            Thread.sleep(2000);
            String firstEpoch = clients.getFirst().view("tenant").epoch();
            redis.restart(Duration.ofSeconds(2));
            Thread.sleep(4000);
            traffic.stop();
            // requests during the outage are answered unavailable within the Redis timeout budget and retried
            System.out.println("Redis restart (aof=" + aof + "): " + traffic.unavailableAnswers.get()
                    + " requests answered unavailable, " + traffic.published.size() + " REST publications acknowledged");
            assertTrue(traffic.errors.isEmpty(), "traffic errors: " + traffic.errors);
            Judge.awaitAll(clients, "tenant", traffic.published("tenant").stream()
                    .filter(x -> aof || !x.epoch().equals(firstEpoch)).map(Traffic.Ack::eventId).toList(), Duration.ofSeconds(60));
            Judge.awaitAll(clients, "location:wh-1", traffic.producedToKafka.stream().filter(id -> aof
                    || traffic.producedToKafka.indexOf(id) > traffic.producedToKafka.size() / 2).toList(), Duration.ofSeconds(60));
            for (int i = 0; i < inboxClients.size(); i++) {
                String channel = "user:u" + i;
                Judge.awaitAll(List.of(inboxClients.get(i)), channel, traffic.inbox.stream()
                        .filter(x -> x.channel().equals(channel)).map(Traffic.Ack::eventId).toList(), Duration.ofSeconds(30));
            }
            a.awaitReady(Duration.ofSeconds(30));
            b.awaitReady(Duration.ofSeconds(30));
            String lastEpoch = clients.getFirst().view("tenant").epoch();
            clients.forEach(TrafficClient::close);
            keepA = !aof;
            return new Result(clients, inboxClients, t, firstEpoch, lastEpoch, a, redis);
        } finally {
            if (!keepA) {
                a.close();
                redis.close();
            }
        }
    }
}
