package dev.tandem.gateway;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import org.redisson.api.RedissonClient;
import org.redisson.api.redisnode.RedisNodes;
import org.redisson.client.RedisConnection;
import org.redisson.client.protocol.RedisCommands;
import org.redisson.redisnode.RedisNode;

/**
 * Redis readiness on connections of its own: one per Redis node (the single instance, or each
 * master of a cluster), opened by that node's client (so with its address, credentials and TLS)
 * and kept for the next probe. The node's command pool is not used, so a pool the node's own load
 * has emptied (a connect burst) does not read as Redis down, while a Redis that hangs or went
 * away still does: the PING is bounded by the budget, and a connection that failed is opened
 * again at the next probe. Probes run one at a time (the health thread).
 */
final class RedisProbe implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(RedisProbe.class.getName());

    private final RedissonClient redisson;
    private final Duration budget;
    private final Map<InetSocketAddress, CompletableFuture<RedisConnection>> connections = new ConcurrentHashMap<>();

    RedisProbe(RedissonClient redisson, Duration budget) {
        this.redisson = redisson;
        this.budget = budget;
    }

    /**
     * Whether Redis answers a PING within the budget: the one instance, or every master of a
     * cluster, pinged together (a replica that is down serves no command, so it does not count).
     */
    boolean ping() {
        Collection<? extends org.redisson.api.redisnode.RedisNode> nodes = redisson.getConfig().isClusterConfig()
                ? redisson.getRedisNodes(RedisNodes.CLUSTER).getMasters()
                : List.of(redisson.getRedisNodes(RedisNodes.SINGLE).getInstance());
        forgetAllBut(nodes);
        List<CompletableFuture<Boolean>> pings = nodes.stream().map(this::ping).toList();
        long deadline = System.nanoTime() + budget.toNanos();
        return !pings.isEmpty() && pings.stream().allMatch(p -> {
            try {
                return p.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (ExecutionException | TimeoutException e) {
                return false;
            }
        });
    }

    private CompletableFuture<Boolean> ping(org.redisson.api.redisnode.RedisNode node) {
        if (!(node instanceof RedisNode own)) {
            // not the implementation this was written against: the pooled PING still answers
            return CompletableFuture.completedFuture(node.ping(budget.toMillis(), TimeUnit.MILLISECONDS));
        }
        InetSocketAddress address = node.getAddr();
        CompletableFuture<RedisConnection> connection = connections.compute(address, (a, open) ->
                open != null && !open.isCompletedExceptionally() && (!open.isDone() || open.join().isActive())
                        ? open : connect(own, open));
        CompletableFuture<Boolean> pong = connection.thenCompose(c -> c.<String, String>async(budget.toMillis(),
                RedisCommands.PING).toCompletableFuture()).thenApply("PONG"::equalsIgnoreCase);
        pong.whenComplete((ok, e) -> {
            if (e != null || !Boolean.TRUE.equals(ok)) {
                drop(address, connection); // opened again at the next probe
            }
        });
        return pong;
    }

    private CompletableFuture<RedisConnection> connect(RedisNode node, CompletableFuture<RedisConnection> old) {
        if (old != null) {
            old.thenAccept(RedisConnection::closeAsync);
        }
        return node.getClient().connectAsync().toCompletableFuture();
    }

    private void drop(InetSocketAddress address, CompletableFuture<RedisConnection> connection) {
        if (connections.remove(address, connection)) {
            connection.thenAccept(RedisConnection::closeAsync);
        }
    }

    /** Closes the connections of nodes that are no longer masters (a failover moved them). */
    private void forgetAllBut(Collection<? extends org.redisson.api.redisnode.RedisNode> nodes) {
        Set<InetSocketAddress> current = nodes.stream().map(org.redisson.api.redisnode.RedisNode::getAddr)
                .collect(Collectors.toSet());
        connections.forEach((address, connection) -> {
            if (!current.contains(address)) {
                drop(address, connection);
            }
        });
    }

    @Override
    public void close() {
        connections.forEach(this::drop);
        LOG.log(System.Logger.Level.DEBUG, "readiness connections to Redis closed");
    }
}
