package dev.tandem.soak;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.RedisServer;
import dev.tandem.harness.Tokens;
import dev.tandem.harness.TrafficClient;

/**
 * The soak: a two-node cluster of packaged gateway processes (a private Redis, the local
 * PostgreSQL) under steady load for a long time: N connections spread over both nodes, each on
 * {@code tenant}, one of 10 {@code location} channels and one of 50 {@code workspace} channels
 * (presence), with churn (some clients leave and new ones join every second), REST publications
 * and presence state updates. Every minute it prints, per node, heap after a full GC, threads
 * and open file descriptors, and the Redis key count; they should be flat once warmed up.
 *
 * <pre>
 * java -cp "integration-tests/target/tandem-integration-tests-0.1.0-SNAPSHOT.jar:integration-tests/target/libs/*" \
 *      dev.tandem.soak.Soak [--minutes 20] [--connections 5000] [--churn 20] [--rate 5] [--presence 20]
 *      [--db jdbc:postgresql://127.0.0.1:5432/test] [--db-user postgres]
 * </pre>
 * Needs the packaged gateway ({@code mvn -pl integration-tests -am package}), {@code redis-server}
 * on the PATH and a PostgreSQL.
 */
public final class Soak {
    private Soak() {
    }

    /** Runs the soak and prints one line of figures per minute. */
    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new HashMap<>(Map.of("minutes", "20", "connections", "5000", "churn", "20", "rate", "5",
                "presence", "20", "db", "jdbc:postgresql://127.0.0.1:5432/test", "db-user", "postgres", "db-password", ""));
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--") || !opt.containsKey(args[i].substring(2))) {
                throw new IllegalArgumentException("unknown option " + args[i] + "; options: " + opt.keySet());
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        int minutes = Integer.parseInt(opt.get("minutes"));
        int connections = Integer.parseInt(opt.get("connections"));
        int churn = Integer.parseInt(opt.get("churn"));
        int rate = Integer.parseInt(opt.get("rate"));
        int presenceRate = Integer.parseInt(opt.get("presence"));
        String run = Long.toHexString(System.nanoTime() & 0xffffffL);
        String tenant = "soak" + run;

        try (RedisServer redis = RedisServer.start("soak", false)) {
            Map<String, String> config = new HashMap<>();
            config.put("tandem.redis.address", redis.url());
            config.put("tandem.db.url", opt.get("db"));
            config.put("tandem.db.username", opt.get("db-user"));
            config.put("tandem.db.password", opt.get("db-password"));
            config.put("tandem.db.schema", "soak_" + run);
            config.put("tandem.connections-per-address", "1000000");
            List<String> jvm = List.of("-Xmx1g");
            try (GatewayProcess a = GatewayProcess.start("soak-a", config, jvm);
                 GatewayProcess b = GatewayProcess.start("soak-b", config, jvm)) {
                List<URI> nodes = List.of(a.ws(), b.ws());
                List<TrafficClient> clients = new ArrayList<>();
                AtomicLong seq = new AtomicLong();
                long t0 = System.nanoTime();
                for (int batch = 0; batch < connections; batch += 250) {
                    List<CompletableFuture<TrafficClient>> opening = new ArrayList<>();
                    for (int i = batch; i < Math.min(connections, batch + 250); i++) {
                        opening.add(open(tenant, nodes, seq.incrementAndGet()));
                    }
                    for (CompletableFuture<TrafficClient> f : opening) {
                        clients.add(f.get(120, TimeUnit.SECONDS));
                    }
                }
                System.out.printf("soak: %d connections open on 2 nodes in %d s; running %d minutes: churn %d/s, "
                                + "%d publications/s, %d presence updates/s%n", connections,
                        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), minutes, churn, rate, presenceRate);
                System.out.println("minute | node | heap after GC MiB | threads | fds | Redis keys | deliveries/s (all clients)");
                String service = Tokens.service(tenant);
                long end = System.nanoTime() + Duration.ofMinutes(minutes).toNanos();
                long nextReport = System.nanoTime() + Duration.ofMinutes(1).toNanos();
                long published = 0;
                long departed = 0;
                long lastReceived = received(clients);
                int minute = 0;
                while (System.nanoTime() < end) {
                    long tick = System.nanoTime();
                    // churn: some leave, as many join
                    for (int i = 0; i < churn && !clients.isEmpty(); i++) {
                        TrafficClient leaving = clients.remove(ThreadLocalRandom.current().nextInt(clients.size()));
                        leaving.close();
                        departed += leaving.received();
                    }
                    List<CompletableFuture<TrafficClient>> joining = new ArrayList<>();
                    for (int i = 0; i < churn; i++) {
                        joining.add(open(tenant, nodes, seq.incrementAndGet()));
                    }
                    // publications, alternating nodes and channels
                    for (int i = 0; i < rate; i++) {
                        GatewayProcess via = published % 2 == 0 ? a : b;
                        String channel = published % 3 == 0 ? "tenant" : "location:wh-" + (published % 10);
                        try {
                            via.post("/api/v1/publish", service, "{\"channel\":\"" + channel + "\",\"type\":\"soak\","
                                    + "\"data\":{\"n\":" + published + ",\"pad\":\"" + "x".repeat(100) + "\"}}");
                        } catch (IOException e) {
                            System.out.println("publish failed: " + e);
                        }
                        published++;
                    }
                    // presence state updates
                    for (int i = 0; i < presenceRate && !clients.isEmpty(); i++) {
                        TrafficClient c = clients.get(ThreadLocalRandom.current().nextInt(clients.size()));
                        c.send("{\"op\":\"presence\",\"channel\":\"workspace:w" + ThreadLocalRandom.current().nextInt(50)
                                + "\",\"state\":{\"cursor\":" + published + "}}");
                    }
                    for (CompletableFuture<TrafficClient> f : joining) {
                        try {
                            clients.add(f.get(30, TimeUnit.SECONDS));
                        } catch (Exception e) {
                            System.out.println("a joining client failed: " + e);
                        }
                    }
                    if (System.nanoTime() >= nextReport) {
                        minute++;
                        long now = departed + received(clients);
                        long perSecond = Math.max(0, now - lastReceived) / 60;
                        lastReceived = now;
                        String keys = redis.command("DBSIZE");
                        for (GatewayProcess n : List.of(a, b)) {
                            System.out.printf("%6d | %s | %17d | %7d | %3d | %10s | %d%n", minute, n.name(),
                                    n.heapAfterGc() >> 20, n.threads(), n.openFiles(), keys, perSecond);
                        }
                        nextReport += Duration.ofMinutes(1).toNanos();
                    }
                    long sleep = TimeUnit.NANOSECONDS.toMillis(tick + TimeUnit.SECONDS.toNanos(1) - System.nanoTime());
                    if (sleep > 0) {
                        Thread.sleep(sleep);
                    }
                }
                clients.forEach(TrafficClient::close);
                System.out.printf("soak done: %d clients at the end, %d opened in all, %d publications%n", clients.size(),
                        seq.get(), published);
            }
        }
    }

    private static CompletableFuture<TrafficClient> open(String tenant, List<URI> nodes, long n) {
        String user = "u" + n;
        return TrafficClient.open(Tokens.token(user, tenant, Tokens.ALL), nodes, (int) (n % 2),
                List.of("tenant", "location:wh-" + (n % 10), "workspace:w" + (n % 50)), Duration.ofSeconds(2), false);
    }

    /** Events the current clients received so far. */
    private static long received(List<TrafficClient> clients) {
        long sum = 0;
        for (TrafficClient c : clients) {
            sum += c.received();
        }
        return sum;
    }
}
