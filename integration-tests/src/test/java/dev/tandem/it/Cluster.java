package dev.tandem.it;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import dev.tandem.testing.TestServices;

/** Configuration of a test cluster: one run's own schema, topics and consumer group. */
final class Cluster {
    private Cluster() {
    }

    /** A fresh run id (schema, topic and tenant suffix). */
    static String run() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    /** Cluster mode on the given Redis and PostgreSQL, on the shared Kafka, with this run's names. */
    static Map<String, String> config(String run, String redisUrl, String jdbcUrl, String dbUser, String dbPassword) {
        Map<String, String> c = new HashMap<>();
        c.put("tandem.redis.address", redisUrl);
        c.put("tandem.db.url", jdbcUrl);
        c.put("tandem.db.username", dbUser);
        c.put("tandem.db.password", dbPassword);
        c.put("tandem.db.schema", "it_" + run);
        c.put("tandem.kafka.bootstrap-servers", TestServices.kafka());
        c.put("tandem.kafka.topic-in", "it.in." + run);
        c.put("tandem.kafka.topic-dead-letter", "it.in." + run + ".dlq");
        c.put("tandem.kafka.topic-out", "it.out." + run);
        c.put("tandem.kafka.group-id", "it-" + run);
        c.put("tandem.kafka.retry-backoff", "PT0.5S");
        // every test client comes from 127.0.0.1
        c.put("tandem.connections-per-address", "100000");
        return c;
    }

    /** Cluster mode on the shared Redis, PostgreSQL and Kafka. */
    static Map<String, String> shared(String run) {
        TestServices.Postgres pg = TestServices.postgres();
        return config(run, TestServices.redis(), pg.jdbcUrl(), pg.user(), pg.password());
    }

    static String topicIn(String run) {
        return "it.in." + run;
    }

    static String topicOut(String run) {
        return "it.out." + run;
    }

    static Map<String, String> with(Map<String, String> base, String... keyValues) {
        Map<String, String> c = new HashMap<>(base);
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            c.put(keyValues[i], keyValues[i + 1]);
        }
        return c;
    }
}
