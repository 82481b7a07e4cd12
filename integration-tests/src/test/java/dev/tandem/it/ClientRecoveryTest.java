package dev.tandem.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.tandem.client.Backoff;
import dev.tandem.client.TandemClient;
import dev.tandem.client.TandemClientException;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ServerFrame;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The project's Java client against a real gateway over real sockets: subscribe and receive,
 * and recovery of what was published while the connection was down.
 */
class ClientRecoveryTest {
    private static final String SECRET = DevTokens.DEV_SECRET;
    private static Gateway gateway;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        Config config = Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(Map.of("server.port", "0", "server.host", "127.0.0.1",
                                "tandem.dev-mode", "true",
                                "tandem.documents.db.url", "jdbc:h2:mem:client-recovery;DB_CLOSE_DELAY=-1",
                                "tandem.channels.namespaces.project.history-size", "3")),
                        ConfigSources.classpath("application.yaml"))
                .build();
        gateway = Gateway.start(config);
    }

    @AfterAll
    static void stop() {
        gateway.stop();
    }

    private static URI ws() {
        return URI.create("ws://127.0.0.1:" + gateway.port() + "/ws");
    }

    private static String token(String user, String tenant, Duration ttl, String... roles) {
        return DevTokens.mint(SECRET, user, tenant, List.of(roles), Map.of(), ttl, Optional.empty(), Optional.empty());
    }

    private static String projectToken(String user, String tenant, Duration ttl) {
        return DevTokens.mint(SECRET, user, tenant, List.of(), Map.of("projects", List.of("p1")), ttl,
                Optional.empty(), Optional.empty());
    }

    private static void publish(String tenant, String channel, int n) throws Exception {
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gateway.port() + "/api/v1/publish"))
                .header("Authorization", "Bearer " + token("erp", tenant, Duration.ofMinutes(5), "service"))
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"channel\":\"" + channel + "\",\"type\":\"n\",\"data\":{\"n\":" + n + "}}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, res.statusCode(), res.body());
    }

    @Test
    void receivesEventsPublishedThroughTheServiceApi() throws Exception {
        BlockingQueue<ServerFrame.Event> events = new LinkedBlockingQueue<>();
        try (TandemClient client = TandemClient.builder(ws())
                .token(() -> token("alice", "acme-1", Duration.ofHours(1)))
                .onEvent(events::add)
                .build()) {
            ServerFrame.Welcome welcome = client.connect().get(10, TimeUnit.SECONDS);
            assertEquals("acme-1", welcome.tenant());
            client.subscribe("tenant").get(10, TimeUnit.SECONDS);
            publish("acme-1", "tenant", 1);
            ServerFrame.Event e = events.poll(10, TimeUnit.SECONDS);
            assertEquals("tenant", e.channel());
            assertEquals(1, e.position().orElseThrow().offset());
            assertEquals(1, e.data().path("n").asInt());
            assertEquals(e.position(), client.position("tenant"));
        }
    }

    @Test
    void aRefusedRequestFailsItsFutureWithTheErrorCode() throws Exception {
        try (TandemClient client = TandemClient.builder(ws())
                .token(() -> token("alice", "acme-2", Duration.ofHours(1)))
                .build()) {
            client.connect().get(10, TimeUnit.SECONDS);
            var failure = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.subscribe("user:bob").get(10, TimeUnit.SECONDS));
            assertEquals(Optional.of(ErrorCode.FORBIDDEN), ((TandemClientException) failure.getCause()).code());
        }
    }

    @Test
    void recoversWhatWasPublishedWhileItWasAwayExactlyOnceAndInOrder() throws Exception {
        BlockingQueue<ServerFrame.Event> events = new LinkedBlockingQueue<>();
        AtomicInteger tokens = new AtomicInteger();
        CountDownLatch lost = new CountDownLatch(1);
        CountDownLatch back = new CountDownLatch(2);
        try (TandemClient client = TandemClient.builder(ws())
                // the first token expires after 2 s: the server closes with 4003 and the client
                // comes back with a fresh one
                .token(() -> token("alice", "acme-3", tokens.getAndIncrement() == 0 ? Duration.ofSeconds(2)
                        : Duration.ofHours(1)))
                .reconnect(new Backoff(Duration.ofMillis(500), Duration.ofSeconds(1), 2.0, 0.2))
                .onEvent(events::add)
                .onStateChange(s -> {
                    if (s == TandemClient.State.RECONNECTING) {
                        lost.countDown();
                    }
                    if (s == TandemClient.State.CONNECTED) {
                        back.countDown();
                    }
                })
                .build()) {
            client.connect().get(10, TimeUnit.SECONDS);
            client.subscribe("tenant").get(10, TimeUnit.SECONDS);
            publish("acme-3", "tenant", 1);
            publish("acme-3", "tenant", 2);
            assertTrue(lost.await(15, TimeUnit.SECONDS), "the connection should drop at token expiry");
            for (int n = 3; n <= 6; n++) {
                publish("acme-3", "tenant", n);
            }
            assertTrue(back.await(15, TimeUnit.SECONDS), "the client should reconnect by itself");
            publish("acme-3", "tenant", 7);
            for (int n = 1; n <= 7; n++) {
                ServerFrame.Event e = events.poll(10, TimeUnit.SECONDS);
                assertEquals(n, e.data().path("n").asInt(), "events in order, none missing");
                assertEquals(n, e.position().orElseThrow().offset());
            }
            assertNull(events.poll(500, TimeUnit.MILLISECONDS), "no duplicate after recovery");
            assertEquals(2, tokens.get());
        }
    }

    @Test
    void toldWhenTheGapIsLargerThanTheHistorySoItRereadsState() throws Exception {
        AtomicInteger tokens = new AtomicInteger();
        CountDownLatch lost = new CountDownLatch(1);
        BlockingQueue<String> recoveryLost = new LinkedBlockingQueue<>();
        try (TandemClient client = TandemClient.builder(ws())
                .token(() -> projectToken("alice", "acme-4", tokens.getAndIncrement() == 0 ? Duration.ofSeconds(2)
                        : Duration.ofHours(1)))
                .reconnect(new Backoff(Duration.ofMillis(500), Duration.ofSeconds(1), 2.0, 0.2))
                .onStateChange(s -> {
                    if (s == TandemClient.State.RECONNECTING) {
                        lost.countDown();
                    }
                })
                .onRecoveryLost((channel, top) -> recoveryLost.add(channel + "@" + top.offset()))
                .build()) {
            client.connect().get(10, TimeUnit.SECONDS);
            client.subscribe("project:p1").get(10, TimeUnit.SECONDS);
            publish("acme-4", "project:p1", 1);
            assertTrue(lost.await(15, TimeUnit.SECONDS));
            for (int n = 2; n <= 8; n++) {
                publish("acme-4", "project:p1", n);
            }
            assertEquals("project:p1@8", recoveryLost.poll(15, TimeUnit.SECONDS));
        }
    }
}
