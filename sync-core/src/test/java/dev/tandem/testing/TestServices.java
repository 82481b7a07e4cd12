package dev.tandem.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.locks.ReentrantLock;

import org.testcontainers.containers.GenericContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * Where tests find the real backing services, in this order: the endpoint given in the
 * environment ({@code TANDEM_TEST_POSTGRES_URL}, {@code TANDEM_TEST_REDIS_URL}); a container
 * started by Testcontainers when a Docker engine is available; the local service that
 * {@code scripts/services.sh up} (run by {@code ./tandem test}) starts. A service that cannot be
 * reached fails the test with a message saying how to start it; nothing is ever skipped.
 *
 * <p>Shared with other modules through the sync-core test-jar.
 */
public final class TestServices {
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final String HOW = "start it with 'scripts/services.sh up' (./tandem test does), "
            + "or point %s at one";
    private static PostgreSQLContainer postgresContainer;
    private static GenericContainer<?> redisContainer;
    private static org.testcontainers.kafka.KafkaContainer kafkaContainer;

    private TestServices() {
    }

    /** A PostgreSQL endpoint. */
    public record Postgres(String jdbcUrl, String user, String password) {
        /** Opens a connection. */
        public Connection connect() throws SQLException {
            return DriverManager.getConnection(jdbcUrl, user, password);
        }
    }

    /** The PostgreSQL to test against, checked to be reachable. */
    public static Postgres postgres() {
        LOCK.lock();
        try {
            Postgres pg;
            String env = System.getenv("TANDEM_TEST_POSTGRES_URL");
            if (env != null && !env.isBlank()) {
                pg = new Postgres(env, envOr("TANDEM_TEST_POSTGRES_USER", "postgres"),
                        envOr("TANDEM_TEST_POSTGRES_PASSWORD", ""));
            } else if (dockerAvailable()) {
                if (postgresContainer == null) {
                    postgresContainer = new PostgreSQLContainer("postgres:16-alpine");
                    postgresContainer.start();
                }
                pg = new Postgres(postgresContainer.getJdbcUrl(), postgresContainer.getUsername(),
                        postgresContainer.getPassword());
            } else {
                pg = new Postgres("jdbc:postgresql://127.0.0.1:5432/test", "postgres", "");
            }
            try (Connection c = pg.connect()) {
                c.isValid(5);
            } catch (SQLException e) {
                throw new IllegalStateException("PostgreSQL is not reachable at " + pg.jdbcUrl() + " (" + e.getMessage()
                        + "); " + HOW.formatted("TANDEM_TEST_POSTGRES_URL"), e);
            }
            return pg;
        } finally {
            LOCK.unlock();
        }
    }

    /** The Redis to test against as {@code redis://host:port}, checked to be reachable. */
    public static String redis() {
        LOCK.lock();
        try {
            String url;
            String env = System.getenv("TANDEM_TEST_REDIS_URL");
            if (env != null && !env.isBlank()) {
                url = env;
            } else if (dockerAvailable()) {
                if (redisContainer == null) {
                    redisContainer = new GenericContainer<>("redis:7-alpine").withExposedPorts(6379);
                    redisContainer.start();
                }
                url = "redis://" + redisContainer.getHost() + ":" + redisContainer.getMappedPort(6379);
            } else {
                url = "redis://127.0.0.1:6379";
            }
            URI uri = URI.create(url);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort()), 3000);
            } catch (IOException e) {
                throw new IllegalStateException("Redis is not reachable at " + url + " (" + e.getMessage() + "); "
                        + HOW.formatted("TANDEM_TEST_REDIS_URL"), e);
            }
            return url;
        } finally {
            LOCK.unlock();
        }
    }

    /** The Kafka bootstrap servers to test against, checked to be reachable. */
    public static String kafka() {
        LOCK.lock();
        try {
            String bootstrap;
            String env = System.getenv("TANDEM_TEST_KAFKA_BOOTSTRAP");
            if (env != null && !env.isBlank()) {
                bootstrap = env;
            } else if (dockerAvailable()) {
                if (kafkaContainer == null) {
                    kafkaContainer = new org.testcontainers.kafka.KafkaContainer("apache/kafka:4.1.0");
                    kafkaContainer.start();
                }
                bootstrap = kafkaContainer.getBootstrapServers();
            } else {
                bootstrap = "127.0.0.1:9092";
            }
            String first = bootstrap.split(",")[0].trim();
            int colon = first.lastIndexOf(':');
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1))),
                        3000);
            } catch (IOException e) {
                throw new IllegalStateException("Kafka is not reachable at " + bootstrap + " (" + e.getMessage() + "); "
                        + "start it with 'scripts/kafka.sh up' (./tandem test does), or point "
                        + "TANDEM_TEST_KAFKA_BOOTSTRAP at one", e);
            }
            return bootstrap;
        } finally {
            LOCK.unlock();
        }
    }

    /**
     * Whether to use Testcontainers: a Docker engine socket or {@code DOCKER_HOST} is there, and
     * {@code TANDEM_LOCAL_SERVICES} does not ask for the local services instead.
     */
    static boolean dockerAvailable() {
        if (System.getenv("TANDEM_LOCAL_SERVICES") != null) {
            return false;
        }
        boolean hint = System.getenv("DOCKER_HOST") != null || Files.exists(Path.of("/var/run/docker.sock"));
        if (!hint) {
            return false;
        }
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }
}
