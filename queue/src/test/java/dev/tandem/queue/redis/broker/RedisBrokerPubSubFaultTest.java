package dev.tandem.queue.redis.broker;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Encoded;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.telemetry.Telemetry;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The broker when Redis drops its pub/sub connections, on a private {@code redis-server} (the
 * shared one is never disturbed): {@link RedisBroker#delivering()} is false while the
 * subscription is broken, and what was published meanwhile reaches the subscriber once it is
 * back, even with nothing published after it.
 */
class RedisBrokerPubSubFaultTest {
    private final FrameCodec codec = FrameCodec.create();
    private final ChannelRules rules = ChannelRules.create(Config.just(ConfigSources.create(Map.of())));
    private Process redis;
    private int port;
    private RedissonClient subscriberClient;
    private RedissonClient publisherClient;

    @BeforeEach
    void startRedis() throws Exception {
        Path bin = Stream.of(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .map(d -> Path.of(d, "redis-server")).filter(Files::isExecutable).findFirst()
                .or(() -> Optional.of(Path.of("/usr/bin/redis-server")).filter(Files::isExecutable))
                .orElseThrow(() -> new IllegalStateException("redis-server not found on the PATH: install it "
                        + "('apt-get install redis-server'; scripts/services.sh up does)"));
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        redis = new ProcessBuilder(bin.toString(), "--port", String.valueOf(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        await(() -> {
            try {
                return "PONG".equals(command("PING"));
            } catch (IOException e) {
                return false;
            }
        }, "redis-server on port " + port + " answers");
        subscriberClient = client();
        publisherClient = client();
    }

    @AfterEach
    void stopRedis() {
        subscriberClient.shutdown();
        publisherClient.shutdown();
        redis.destroyForcibly();
    }

    private RedissonClient client() {
        org.redisson.config.Config c = new org.redisson.config.Config();
        c.setNettyThreads(4);
        c.useSingleServer().setAddress("redis://127.0.0.1:" + port).setConnectionMinimumIdleSize(1)
                .setSubscriptionConnectionMinimumIdleSize(1);
        return Redisson.create(c);
    }

    @Test
    void aBrokenSubscriptionIsReportedAndWhatWasPublishedMeanwhileArrivesAfter() throws Exception {
        RedisBroker node = new RedisBroker(subscriberClient, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                Clock.systemUTC());
        RedisBroker other = new RedisBroker(publisherClient, new Hub(codec, Telemetry.NOOP), rules, Telemetry.NOOP,
                Clock.systemUTC());
        try {
            ChannelKey ch = rules.resolve("t1", "location:wh-1");
            List<Long> got = new CopyOnWriteArrayList<>();
            Subscriber s = (Publication p, Encoded frame) -> got.add(p.position().orElseThrow().offset());
            node.subscribe(ch, s, Optional.empty(), r -> { });
            await(node::delivering, "delivering once the probe went round");
            other.publish(ch, Draft.durable("n", codec.object().put("n", 1)));
            await(() -> got.size() == 1, "the first publication arrives live");

            command("ACL", "SETUSER", "default", "-subscribe", "-psubscribe", "-ssubscribe");
            command("CLIENT", "KILL", "TYPE", "pubsub");
            for (int n = 2; n <= 4; n++) {
                other.publish(ch, Draft.durable("n", codec.object().put("n", n)));
            }
            await(() -> !node.delivering(), "not delivering while the subscription is broken");
            assertEquals(List.of(1L), got, "nothing arrives while broken");

            command("ACL", "SETUSER", "default", "+@all");
            await(node::delivering, "delivering again by itself");
            await(() -> got.size() == 4, "what was published while broken arrives with nothing published after it");
            assertEquals(List.of(1L, 2L, 3L, 4L), got, "once each, in order");
        } finally {
            node.close();
            other.close();
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not within 20 s: " + what);
            }
            Thread.sleep(50);
        }
    }

    private String command(String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            StringBuilder req = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                req.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = s.getInputStream();
            List<Character> line = new ArrayList<>();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    line.add((char) c);
                }
            }
            StringBuilder b = new StringBuilder();
            line.forEach(b::append);
            if (b.isEmpty() || b.charAt(0) == '-') {
                throw new IOException("redis answered " + b);
            }
            return b.substring(1);
        }
    }
}
