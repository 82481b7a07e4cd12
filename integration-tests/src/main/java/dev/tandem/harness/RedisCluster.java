package dev.tandem.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A private Redis Cluster of {@code redis-server} processes on free ports of 127.0.0.1
 * ({@code cluster-enabled yes}), for tests and benchmarks: the shared Redis is never touched.
 * The slots are split evenly over the masters; each master gets its replicas. A node that dies
 * is noticed after {@value #NODE_TIMEOUT_MILLIS} ms ({@code cluster-node-timeout}), and its
 * replica takes over its slots a moment later. {@code cluster-require-full-coverage no} keeps
 * the other shards serving meanwhile, as the queue module's README advises for production.
 */
public final class RedisCluster implements AutoCloseable {
    static final int NODE_TIMEOUT_MILLIS = 1000;
    private static final int SLOTS = 16384;
    private static final Duration FORM_TIMEOUT = Duration.ofSeconds(30);

    private final List<RedisServer> nodes;
    private final int masters;

    private RedisCluster(List<RedisServer> nodes, int masters) {
        this.nodes = nodes;
        this.masters = masters;
    }

    /**
     * Starts {@code masters} masters with {@code replicasPerMaster} replicas each and waits until
     * the cluster is formed: every slot served, every replica linked to its master.
     *
     * @param name folder name prefix under {@link Work#dir()}
     */
    public static RedisCluster start(String name, int masters, int replicasPerMaster) {
        if (masters < 1 || replicasPerMaster < 0) {
            throw new IllegalArgumentException("at least one master, no negative replica count");
        }
        List<RedisServer> nodes = new ArrayList<>();
        try {
            int total = masters * (1 + replicasPerMaster);
            for (int i = 0; i < total; i++) {
                String node = name + "-" + i;
                nodes.add(RedisServer.start(node, false, List.of(
                        "--cluster-enabled", "yes",
                        "--cluster-announce-ip", "127.0.0.1",
                        "--cluster-config-file", Work.dir().resolve("redis-" + node).resolve("nodes.conf").toString(),
                        "--cluster-node-timeout", String.valueOf(NODE_TIMEOUT_MILLIS),
                        "--cluster-require-full-coverage", "no",
                        "--cluster-replica-validity-factor", "0",
                        "--repl-diskless-sync-delay", "0")));
            }
            RedisCluster cluster = new RedisCluster(nodes, masters);
            cluster.form(replicasPerMaster);
            return cluster;
        } catch (RuntimeException | IOException e) {
            nodes.forEach(RedisServer::close);
            throw e instanceof RuntimeException r ? r : new UncheckedIOException((IOException) e);
        }
    }

    private void form(int replicasPerMaster) throws IOException {
        for (int i = 0; i < masters; i++) {
            RedisServer m = nodes.get(i);
            m.command("CLUSTER", "SET-CONFIG-EPOCH", String.valueOf(i + 1));
            m.command("CLUSTER", "ADDSLOTSRANGE", String.valueOf(i * SLOTS / masters),
                    String.valueOf((i + 1) * SLOTS / masters - 1));
        }
        RedisServer first = nodes.getFirst();
        for (RedisServer n : nodes.subList(1, nodes.size())) {
            first.command("CLUSTER", "MEET", "127.0.0.1", String.valueOf(n.port()));
        }
        await("every node knows every other", () -> {
            for (RedisServer n : nodes) {
                if (n.command("CLUSTER", "NODES").lines().count() < nodes.size()) {
                    return false;
                }
            }
            return true;
        });
        for (int r = 0; r < replicasPerMaster; r++) {
            for (int i = 0; i < masters; i++) {
                RedisServer replica = nodes.get(masters + r * masters + i);
                replica.command("CLUSTER", "REPLICATE", nodes.get(i).command("CLUSTER", "MYID"));
            }
        }
        await("every slot served and every replica in sync", () -> {
            for (RedisServer n : nodes) {
                if (!n.command("CLUSTER", "INFO").contains("cluster_state:ok")) {
                    return false;
                }
                String replication = n.command("INFO", "replication");
                if (replication.contains("role:slave") && !replication.contains("master_link_status:up")) {
                    return false;
                }
            }
            return true;
        });
    }

    /** Every node's address, {@code redis://127.0.0.1:port}, masters first: the seeds a client is given. */
    public List<String> seeds() {
        return nodes.stream().map(RedisServer::url).toList();
    }

    /** {@link #seeds()} comma-separated, the form an environment variable takes. */
    public String seedList() {
        return String.join(",", seeds());
    }

    /** How many masters the cluster was formed with. */
    public int masterCount() {
        return masters;
    }

    /** CPU time each node used so far (a dead node's as zero). */
    public List<Duration> cpuByNode() {
        return nodes.stream().map(n -> n.alive() ? n.cpu() : Duration.ZERO).toList();
    }

    /** The live nodes serving slots as masters now. */
    public List<RedisServer> masters() {
        try {
            List<RedisServer> out = new ArrayList<>();
            for (String line : anyAlive().command("CLUSTER", "NODES").lines().toList()) {
                String[] f = line.split(" ");
                if (f.length > 8 && f[2].contains("master") && !f[2].contains("fail")) {
                    int port = port(f[1]);
                    nodes.stream().filter(n -> n.port() == port && n.alive()).forEach(out::add);
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The hash slot of a key or shard channel ({@code CLUSTER KEYSLOT}). */
    public int slot(String key) {
        try {
            return Integer.parseInt(anyAlive().command("CLUSTER", "KEYSLOT", key));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The live node that serves {@code slot} as master now. */
    public RedisServer masterOf(int slot) {
        try {
            return masterOf(slot, anyAlive().command("CLUSTER", "NODES"))
                    .orElseThrow(() -> new IllegalStateException("no live master serves slot " + slot));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Cuts the master of {@code slot} off from its replicas: it drops their links and refuses
     * their re-sync, so everything it takes from now on is on the master only and is lost
     * when it dies, as with a replica lagging behind under load.
     */
    public void cutReplication(int slot) {
        RedisServer master = masterOf(slot);
        try {
            master.command("ACL", "SETUSER", "default", "-sync", "-psync");
            master.command("CLIENT", "KILL", "TYPE", "replica");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * SIGKILLs the master of {@code slot} and waits until one of its replicas serves the slot and
     * the survivors agree the cluster is whole again.
     *
     * @return the promoted replica
     */
    public RedisServer killMasterOf(int slot) {
        RedisServer old = masterOf(slot);
        old.kill();
        try {
            await("a replica takes over slot " + slot, () -> {
                for (RedisServer n : nodes) {
                    if (n.alive() && !n.command("CLUSTER", "INFO").contains("cluster_state:ok")) {
                        return false;
                    }
                }
                Optional<RedisServer> now = masterOf(slot, anyAlive().command("CLUSTER", "NODES"));
                return now.isPresent() && now.get() != old;
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return masterOf(slot);
    }

    private Optional<RedisServer> masterOf(int slot, String clusterNodes) {
        for (String line : clusterNodes.lines().toList()) {
            String[] f = line.split(" ");
            if (f.length < 9 || !f[2].contains("master") || f[2].contains("fail")) {
                continue;
            }
            for (int i = 8; i < f.length; i++) {
                String range = f[i];
                if (range.startsWith("[")) {
                    continue; // a slot being migrated
                }
                int dash = range.indexOf('-');
                int from = Integer.parseInt(dash < 0 ? range : range.substring(0, dash));
                int to = dash < 0 ? from : Integer.parseInt(range.substring(dash + 1));
                if (slot >= from && slot <= to) {
                    int port = port(f[1]);
                    return nodes.stream().filter(n -> n.port() == port && n.alive()).findFirst();
                }
            }
        }
        return Optional.empty();
    }

    /** The port of a {@code CLUSTER NODES} address, {@code ip:port@busport}. */
    private static int port(String address) {
        return Integer.parseInt(address.substring(address.indexOf(':') + 1, address.indexOf('@')));
    }

    private RedisServer anyAlive() {
        return nodes.stream().filter(RedisServer::alive).findFirst()
                .orElseThrow(() -> new IllegalStateException("no node of the cluster runs"));
    }

    private interface Check {
        boolean holds() throws IOException;
    }

    private void await(String what, Check check) throws IOException {
        long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.holds()) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            Work.sleep(50);
        }
        throw new IllegalStateException("Redis Cluster: not " + what + " within " + FORM_TIMEOUT
                + (last == null ? "" : " (" + last.getMessage() + ")") + ":\n"
                + Work.tail(nodes.getFirst().dir().resolve("redis.log"), 20));
    }

    /** Kills every node. */
    @Override
    public void close() {
        nodes.forEach(RedisServer::close);
    }
}
