package dev.tandem.it;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.channel.ChannelRules;
import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.RedisCluster;
import dev.tandem.harness.Tokens;
import dev.tandem.harness.TrafficClient;
import dev.tandem.harness.Work;
import dev.tandem.queue.redis.Keys;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Three packaged gateway nodes on a Redis Cluster of three masters and three replicas,
 * configured as the README tells operators (the seed list in
 * {@code TANDEM_REDIS_CLUSTER_dash_NODES}), with resuming clients on every node over many
 * channels (spread over every shard) while REST publications and inbox sends flow:
 * <ol>
 *   <li>presence is the same seen from every node; a user's revocation closes its connections
 *       on every node and its token is refused on every node; a disconnect likewise;</li>
 *   <li>a node is SIGKILLed: its clients resume on the others, recovered gap-free;</li>
 *   <li>a master is SIGKILLed and its replica promoted: the nodes' readiness comes back by
 *       itself, the channels of that shard move to a new epoch (clients told, never a silent
 *       gap), every acknowledged publication of each channel's final epoch arrives.</li>
 * </ol>
 * Channels on the other shards: every acknowledged publication arrives at every client once,
 * in order, with every recovery granted.
 */
class RedisClusterIT {
    private static final int NODES = 3;
    private static final int CHANNELS = 48;
    private static final int CLIENTS_PER_NODE = 20;
    private static final int CHANNELS_PER_CLIENT = 6;
    private static final int INBOX_USERS = 6;

    @Test
    void threeNodesOnARedisClusterSurviveANodeKillAndAMasterFailoverWithoutSilentLoss() throws Exception {
        String run = Cluster.run();
        String t = "rc" + run;
        List<String> channels = IntStream.range(0, CHANNELS).mapToObj(i -> "location:wh-" + i).toList();
        try (RedisCluster redis = RedisCluster.start("it", 3, 1)) {
            TestServices.Postgres pg = TestServices.postgres();
            Map<String, String> config = Map.of(
                    "tandem.db.url", pg.jdbcUrl(),
                    "tandem.db.username", pg.user(),
                    "tandem.db.password", pg.password(),
                    "tandem.db.schema", "it_" + run,
                    "tandem.connections-per-address", "100000",
                    "tandem.presence.ttl", "PT5S",
                    "tandem.channels.namespaces.location.history-size", "1000");
            Map<String, String> env = Map.of("TANDEM_REDIS_CLUSTER_dash_NODES", redis.seedList());
            List<GatewayProcess> nodes = startAll(run, config, env);
            List<GatewayProcess> live = new CopyOnWriteArrayList<>(nodes);
            List<URI> uris = nodes.stream().map(GatewayProcess::ws).toList();
            Map<String, List<TrafficClient>> byChannel = new HashMap<>();
            List<TrafficClient> all = new ArrayList<>();
            try {
                for (int n = 0; n < NODES; n++) {
                    List<CompletableFuture<TrafficClient>> opening = new ArrayList<>();
                    List<List<String>> subscribed = new ArrayList<>();
                    for (int i = 0; i < CLIENTS_PER_NODE; i++) {
                        int c = n * CLIENTS_PER_NODE + i;
                        List<String> mine = new ArrayList<>(List.of("tenant"));
                        for (int k = 0; k < CHANNELS_PER_CLIENT; k++) {
                            mine.add(channels.get((c * 7 + k * 11) % CHANNELS));
                        }
                        if (c < INBOX_USERS) {
                            mine.add("user:u" + c);
                        }
                        subscribed.add(mine);
                        opening.add(TrafficClient.open(Tokens.token("u" + c, t, Tokens.ALL), uris, n, mine,
                                Duration.ofSeconds(1)));
                    }
                    for (int i = 0; i < opening.size(); i++) {
                        TrafficClient client = opening.get(i).get(60, TimeUnit.SECONDS);
                        all.add(client);
                        for (String ch : subscribed.get(i)) {
                            byChannel.computeIfAbsent(ch, k -> new ArrayList<>()).add(client);
                        }
                    }
                }
                Traffic traffic = new Traffic(t, () -> live).rest(channels, 40).rest("tenant", 4)
                        .inbox(IntStream.range(0, INBOX_USERS).mapToObj(i -> "u" + i).toList(), 3);

                presenceIsTheSameOnEveryNode(nodes, t);
                revocationsAndDisconnectsReachEveryNode(nodes, t);

                GatewayProcess doomed = nodes.get(2);
                List<TrafficClient> onDoomed = all.stream().filter(c -> c.node() == 2).toList();
                Thread.sleep(2000);
                long killedAt = System.nanoTime();
                live.remove(doomed);
                doomed.kill();
                await("every client of the killed node resumed on another", Duration.ofSeconds(60),
                        () -> onDoomed.stream().allMatch(c -> c.live() && c.node() != 2));
                long resumeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);

                Thread.sleep(2000);
                ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of())));
                int victimSlot = redis.slot(Keys.meta(rules.resolve(t, channels.getFirst())));
                Set<String> onVictim = new HashSet<>();
                for (String ch : byChannel.keySet()) {
                    int slot = redis.slot(Keys.meta(rules.resolve(t, ch)));
                    if (redis.masterOf(slot) == redis.masterOf(victimSlot)) {
                        onVictim.add(ch);
                    }
                }
                long failoverAt = System.nanoTime();
                redis.killMasterOf(victimSlot);
                long promotedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failoverAt);
                for (GatewayProcess node : live) {
                    node.awaitReady(Duration.ofSeconds(60));
                }
                long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - failoverAt);
                Thread.sleep(3000);
                traffic.stop();

                assertTrue(traffic.errors.isEmpty(), "traffic errors: " + traffic.errors);
                int epochsChanged = 0;
                for (Map.Entry<String, List<TrafficClient>> e : byChannel.entrySet()) {
                    String ch = e.getKey();
                    List<Traffic.Ack> acked = ch.startsWith("user:") ? traffic.inbox.stream()
                            .filter(a -> a.channel().equals(ch)).toList() : traffic.published(ch);
                    if (onVictim.contains(ch)) {
                        epochsChanged += toldTruthfully(e.getValue(), ch, acked);
                    } else {
                        Judge.awaitAll(e.getValue(), ch, acked.stream().map(Traffic.Ack::eventId).toList(),
                                Duration.ofSeconds(60));
                        Judge.onceInOrder(e.getValue(), ch, true);
                    }
                }
                assertTrue(epochsChanged > 0, "the failed shard's channels moved to a new epoch");
                assertTrue(traffic.published.size() > 200 && traffic.inbox.size() > 10, "traffic flowed");

                String figures = String.format("Redis Cluster (3 masters + 3 replicas), 3 nodes, %d clients on %d "
                                + "channels: node SIGKILL, its %d clients resumed in %d ms; master SIGKILL, replica promoted "
                                + "after %d ms, every node ready %d ms after the kill; %d of %d channels on the failed "
                                + "shard, %d client channels told of a new epoch; traffic %d REST, %d inbox",
                        all.size(), byChannel.size(), onDoomed.size(), resumeMillis, promotedMillis, readyMillis,
                        onVictim.size(), byChannel.size(), epochsChanged, traffic.published.size(), traffic.inbox.size());
                System.out.println(figures);
                Files.writeString(Work.dir().resolve("figures-redis-cluster.txt"), figures + "\n");
            } finally {
                all.forEach(TrafficClient::close);
                nodes.forEach(GatewayProcess::close);
            }
        }
    }

    private static List<GatewayProcess> startAll(String run, Map<String, String> config, Map<String, String> env)
            throws Exception {
        ExecutorService starting = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Future<GatewayProcess>> futures = new ArrayList<>();
            for (int n = 0; n < NODES; n++) {
                String name = "rc-" + (char) ('a' + n);
                futures.add(starting.submit(() -> GatewayProcess.start(name, config, List.of("-Xmx384m"), env)));
            }
            List<GatewayProcess> nodes = new ArrayList<>();
            for (Future<GatewayProcess> f : futures) {
                nodes.add(f.get(180, TimeUnit.SECONDS));
            }
            return nodes;
        } finally {
            starting.shutdown();
        }
    }

    /**
     * On a channel of the failed shard: no silent gap, every acknowledged publication of the
     * channel's final epoch arrived at every client, and one of an earlier epoch is missing only
     * from a client that was told its epoch ended. Returns how many clients were told.
     */
    private static int toldTruthfully(List<TrafficClient> clients, String ch, List<Traffic.Ack> acked) throws Exception {
        String finalEpoch = acked.getLast().epoch();
        Judge.awaitAll(clients, ch, acked.stream().filter(a -> a.epoch().equals(finalEpoch))
                .map(Traffic.Ack::eventId).toList(), Duration.ofSeconds(60));
        int told = 0;
        for (TrafficClient c : clients) {
            TrafficClient.View v = c.view(ch);
            assertTrue(v.silentGaps().isEmpty(), ch + ": silent gaps " + v.silentGaps());
            assertTrue(c.problems().isEmpty(), ch + ": " + c.problems());
            assertEquals(finalEpoch, v.epoch(), ch + ": the client follows the channel's epoch");
            boolean wasTold = v.epochChanges() > 0 || v.recoveryRefused() > 0;
            Set<String> got = new HashSet<>(v.eventIds());
            for (Traffic.Ack a : acked) {
                if (!got.contains(a.eventId()) && !wasTold) {
                    fail(ch + ": " + a + " missing from a client that was never told its epoch ended");
                }
            }
            told += wasTold ? 1 : 0;
        }
        return told;
    }

    private static void presenceIsTheSameOnEveryNode(List<GatewayProcess> nodes, String t) throws Exception {
        String service = Tokens.service(t);
        try (WsProbe alice = WsProbe.connect(nodes.get(0).ws(), Tokens.token("alice", t, Tokens.ALL));
             WsProbe bob = WsProbe.connect(nodes.get(2).ws(), Tokens.token("bob", t, Tokens.ALL))) {
            alice.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w1\"}");
            bob.request(2, "{\"op\":\"subscribe\",\"id\":2,\"channel\":\"workspace:w1\",\"presence\":true}");
            JsonNode join = alice.expect(f -> f.path("op").asText().equals("presence"));
            assertEquals("join", join.path("kind").asText());
            assertEquals("bob", join.path("data").path("user").asText());
            for (GatewayProcess node : nodes) {
                String members = node.get("/api/v1/presence/workspace:w1", Optional.of(service)).body();
                assertTrue(members.contains("\"user\":\"alice\"") && members.contains("\"user\":\"bob\""),
                        node.name() + ": " + members);
            }
        }
    }

    private static void revocationsAndDisconnectsReachEveryNode(List<GatewayProcess> nodes, String t) throws Exception {
        String service = Tokens.service(t);
        String mallory = Tokens.token("mallory", t, Tokens.ALL);
        String trudy = Tokens.token("trudy", t, Tokens.ALL);
        Thread.sleep(1100); // iat has whole seconds: the cutoff must lie after the token's
        try (WsProbe m0 = WsProbe.connect(nodes.get(0).ws(), mallory);
             WsProbe m2 = WsProbe.connect(nodes.get(2).ws(), mallory);
             WsProbe t0 = WsProbe.connect(nodes.get(0).ws(), trudy);
             WsProbe t2 = WsProbe.connect(nodes.get(2).ws(), trudy)) {
            assertEquals(200, nodes.get(1).post("/api/v1/revocations", service, "{\"user\":\"mallory\"}").statusCode());
            assertEquals(4004, m0.closeCode(), "revoked on node a");
            assertEquals(4004, m2.closeCode(), "revoked on node c");
            assertEquals(200, nodes.get(1).post("/api/v1/users/trudy/disconnect", service, "{}").statusCode());
            assertEquals(4005, t0.closeCode(), "disconnected on node a");
            assertEquals(4005, t2.closeCode(), "disconnected on node c");
        }
        for (GatewayProcess node : nodes) {
            try (WsProbe again = WsProbe.open(node.ws())) {
                again.send("{\"op\":\"connect\",\"id\":1,\"token\":\"" + mallory + "\"}");
                assertEquals(4004, again.closeCode(), node.name() + " refuses the revoked token");
            }
        }
    }

    private static void await(String what, Duration timeout, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within " + timeout + ": " + what);
            }
            Thread.sleep(50);
        }
    }
}
