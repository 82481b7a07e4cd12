package dev.tandem.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

import dev.tandem.gateway.DevTokens;

/**
 * Kafka produce-to-client-receive latency across a two-node cluster: two gateways (child
 * JVMs) in cluster mode on Redis and Kafka, N WebSocket clients split between them on one
 * channel, M domain events produced to the inbound topic by a plain Kafka producer at a fixed
 * rate. Each event carries the producer's {@code System.nanoTime()}; the clients are npm {@code ws}
 * sockets in Node processes on this machine ({@link NodeReceivers}), which read the same monotonic
 * clock, so latency is measured on one clock: Kafka, the consumer group (whichever node consumes
 * the partition), the Redis broker and fan-out to both nodes, and the sockets. The gateways' own
 * {@code tandem_kafka_ingest_delay_seconds} gives Kafka's share.
 *
 * <pre>
 * ./tandem bench-kafka [--connections 1000] [--events 500] [--rate 100]
 *                      [--kafka 127.0.0.1:9092] [--redis redis://127.0.0.1:6379]
 * </pre>
 */
public final class KafkaLatencyBenchmark {
    private static final String TENANT = "bench";
    private static final String SECRET = DevTokens.DEV_SECRET;

    private KafkaLatencyBenchmark() {
    }

    /** Options, with defaults. */
    record Options(int connections, int events, int rate, String kafka, String redis) {
        static Options parse(String[] args) {
            Map<String, String> m = Bench.options(args);
            return new Options(Integer.parseInt(m.getOrDefault("connections", "1000")),
                    Integer.parseInt(m.getOrDefault("events", "500")),
                    Integer.parseInt(m.getOrDefault("rate", "100")),
                    m.getOrDefault("kafka", "127.0.0.1:9092"),
                    m.getOrDefault("redis", "redis://127.0.0.1:6379"));
        }
    }

    /**
     * What one run measured; {@code ingestMeanNanos} is the mean of the gateways' own
     * {@code tandem_kafka_ingest_delay_seconds} over the timed events (producer to publication on
     * the node that consumed them) and {@code ingested} how many events it counted, {@code meanNanos}
     * the mean of the whole way to the client.
     */
    record Result(int connections, int events, long expected, long delivered, long p50Nanos, long p99Nanos,
                  long maxNanos, long meanNanos, long ingestMeanNanos, long ingested) {
    }


    /**
     * Runs the benchmark and prints its figures.
     *
     * @param args see the class description
     */
    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Result r = run(o);
        print(o, r);
        if (r.delivered() != r.expected()) {
            System.exit(1);
        }
    }

    static void print(Options o, Result r) {
        System.out.printf(Locale.ROOT, "Tandem Kafka-to-client benchmark (%d cores, %s, JDK %s)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"), System.getProperty("java.version"));
        System.out.printf(Locale.ROOT, "  cluster                2 gateway nodes on Redis %s and Kafka %s%n", o.redis(), o.kafka());
        System.out.printf(Locale.ROOT, "  subscribers            %d, half on each node, one channel%n", r.connections());
        System.out.printf(Locale.ROOT, "  events                 %d produced at %d/s%n", r.events(), o.rate());
        System.out.printf(Locale.ROOT, "  deliveries             %d of %d%n", r.delivered(), r.expected());
        System.out.printf(Locale.ROOT, "  produce->receive       p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean %.2f ms%n",
                r.p50Nanos() / 1e6, r.p99Nanos() / 1e6, r.maxNanos() / 1e6, r.meanNanos() / 1e6);
        System.out.printf(Locale.ROOT, "  of it produce->ingest  mean %.2f ms (the gateways' tandem_kafka_ingest_delay_seconds;"
                + " record timestamps in ms)%n", r.ingestMeanNanos() / 1e6);
    }

    static Result run(Options o) throws Exception {
        // event ids unique per run: the Redis broker keeps a channel's recent ids to drop redeliveries
        String run = UUID.randomUUID().toString().substring(0, 8);
        String topic = "bench.in." + run;
        List<String> cluster = List.of("-Dtandem.redis.address=" + o.redis(),
                "-Dtandem.kafka.bootstrap-servers=" + o.kafka(),
                "-Dtandem.kafka.topic-in=" + topic,
                "-Dtandem.kafka.topic-dead-letter=" + topic + ".dlq",
                "-Dtandem.kafka.topic-out=" + topic + ".out",
                "-Dtandem.kafka.group-id=bench-" + run);
        int[] ports = {Bench.freePort(), Bench.freePort()};
        List<Process> nodes = new ArrayList<>();
        try {
            for (int port : ports) {
                nodes.add(Bench.startServer(port, cluster));
            }
            for (int port : ports) {
                Bench.waitForReady("http://127.0.0.1:" + port);
            }
            return measure(o, ports, topic, run);
        } finally {
            for (Process p : nodes) {
                p.destroy();
            }
            for (Process p : nodes) {
                p.waitFor(30, TimeUnit.SECONDS);
                p.destroyForcibly();
            }
        }
    }

    private static Result measure(Options o, int[] ports, String topic, String run) throws Exception {
        int n = o.connections();
        int m = o.events();
        String token = DevTokens.mint(SECRET, "bench-client", TENANT, List.of(), Map.of(), Duration.ofHours(2),
                Optional.empty(), Optional.empty());
        List<String> urls = Arrays.stream(ports).mapToObj(port -> "ws://127.0.0.1:" + port + "/ws").toList();
        int deadline = Math.max(30, m / Math.max(1, o.rate()) * 3) + 120;
        HttpClient client = HttpClient.newBuilder().executor(Executors.newVirtualThreadPerTaskExecutor()).build();
        List<WebSocket> probes = new ArrayList<>();
        try (NodeReceivers receivers = NodeReceivers.start(n, Math.min(4, Math.max(1, (n + 499) / 500)), urls, token,
                "tenant", m, deadline)) {
            // a probe on each node: warm-up goes on until both have seen a warm-up event, so the
            // consumer group has its partitions and the JIT has warmed up before anything is timed
            List<CompletableFuture<Void>> warm = new ArrayList<>();
            for (String url : urls) {
                CompletableFuture<Void> seen = new CompletableFuture<>();
                warm.add(seen);
                probes.add(probe(client, url, token, seen));
            }
            double[] before;
            try (KafkaProducer<String, String> producer = producer(o.kafka())) {
                warmUp(producer, topic, run, o.rate(), warm);
                awaitStableGroup(o.kafka(), "bench-" + run, ports.length);
                Thread.sleep(1000);
                before = ingestDelay(client, ports);
                long interval = 1_000_000_000L / Math.max(1, o.rate());
                long start = System.nanoTime();
                for (int i = 0; i < m; i++) {
                    long wait = start + i * interval - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    producer.send(new ProducerRecord<>(topic, "bench/e" + (i % 6),
                            event(run + "-e-" + i, "bench.tick", System.nanoTime())));
                }
                producer.flush();
            }
            long[] sorted = receivers.latencies();
            double[] after = ingestDelay(client, ports);
            double ingested = after[1] - before[1];
            long ingestMean = ingested <= 0 ? 0 : (long) ((after[0] - before[0]) / ingested * 1e9);
            Arrays.sort(sorted);
            int count = sorted.length;
            long sum = Arrays.stream(sorted).sum();
            return new Result(n, m, (long) n * m, count, Bench.percentile(sorted, 0.50),
                    Bench.percentile(sorted, 0.99), count == 0 ? 0 : sorted[count - 1], count == 0 ? 0 : sum / count,
                    ingestMean, Math.round(ingested));
        } finally {
            probes.forEach(WebSocket::abort);
            client.close();
        }
    }

    /** A socket subscribed to the channel that completes {@code seen} at the first warm-up event. */
    private static WebSocket probe(HttpClient client, String url, String token, CompletableFuture<Void> seen)
            throws Exception {
        WebSocket probe = client.newWebSocketBuilder().header("Authorization", "Bearer " + token)
                .subprotocols("tandem.v1")
                .buildAsync(URI.create(url), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean lastPart) {
                        if (data.toString().contains("\"type\":\"warmup\"")) {
                            seen.complete(null);
                        }
                        w.request(1);
                        return null;
                    }
                }).get(60, TimeUnit.SECONDS);
        probe.sendText("{\"op\":\"subscribe\",\"id\":1,\"channel\":\"tenant\"}", true);
        return probe;
    }

    private static KafkaProducer<String, String> producer(String kafka) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    /** Warm-up events until every probe saw one (at most a minute), then 50 more. */
    private static void warmUp(KafkaProducer<String, String> producer, String topic, String run, int rate,
                               List<CompletableFuture<Void>> warm) throws InterruptedException {
        long interval = 1_000_000_000L / Math.max(1, rate);
        long warmDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        int w = 0;
        while (!CompletableFuture.allOf(warm.toArray(CompletableFuture[]::new)).isDone()
                && System.nanoTime() < warmDeadline) {
            producer.send(new ProducerRecord<>(topic, "bench/w" + (w % 6), event(run + "-w-" + w++, "warmup", 0)));
            TimeUnit.NANOSECONDS.sleep(interval);
        }
        for (int i = 0; i < 50; i++) {
            producer.send(new ProducerRecord<>(topic, "bench/w" + (i % 6), event(run + "-w2-" + i, "warmup", 0)));
            TimeUnit.NANOSECONDS.sleep(interval);
        }
    }

    /**
     * Waits until the nodes' consumer group is stable with every node in it: a node joining
     * later makes the group rebalance, and consumption stops meanwhile, which is not what the
     * benchmark times.
     */
    private static void awaitStableGroup(String kafka, String group, int members) throws Exception {
        Properties a = new Properties();
        a.put(org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka);
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(a)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                var d = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS).get(group);
                if (d.groupState() == org.apache.kafka.common.GroupState.STABLE && d.members().size() == members
                        && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                    return;
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("consumer group " + group + " not stable with " + members
                    + " members after 60 s");
        }
    }

    /** The sum (seconds) and count of both nodes' {@code tandem_kafka_ingest_delay_seconds}. */
    private static double[] ingestDelay(HttpClient client, int[] ports) throws Exception {
        double[] sumCount = new double[2];
        for (int port : ports) {
            String metrics = client.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/metrics")).header("Accept", "text/plain").build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("tandem_kafka_ingest_delay_seconds_sum")) {
                    sumCount[0] += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith("tandem_kafka_ingest_delay_seconds_count")) {
                    sumCount[1] += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return sumCount;
    }

    private static String event(String id, String type, long t) {
        return "{\"specversion\":\"1.0\",\"id\":\"" + id + "\",\"source\":\"/bench\",\"type\":\"" + type
                + "\",\"tenantid\":\"" + TENANT + "\",\"channels\":\"tenant\",\"data\":{\"t\":" + t + ",\"pad\":\""
                + "x".repeat(60) + "\"}}";
    }
}
