package dev.tandem.it.client;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.tandem.client.Backoff;
import dev.tandem.client.DocChange;
import dev.tandem.client.OpStatus;
import dev.tandem.client.TandemClient;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java client notices a connection cut without a close frame (a proxy or peer that closes
 * the TCP connection) even when the cut comes while a listener is still handling the frame
 * before it: the JDK's WebSocket reads nothing while its listener runs and drops an end of
 * stream that arrives then, so the client must not run listeners on the WebSocket's thread.
 */
class ConnectionLossTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static ProxiedGateway node;
    private static Gateway gateway;
    private static CuttableProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        node = ProxiedGateway.start(Map.of("tandem.documents.db.url", "jdbc:h2:mem:client-connection-loss;DB_CLOSE_DELAY=-1",
                "tandem.documents.types.stock_level.counters.0", "qty",
                "tandem.documents.types.stock_level.channels.0", "location:{locationId}"));
        gateway = node.gateway();
        proxy = node.proxy();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static TandemClient.Builder client(String user, int port) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> DevTokens.mint(DevTokens.DEV_SECRET, user, "cl-1", List.of(),
                        Map.of("locations", List.of("*")), Duration.ofHours(1), Optional.empty(), Optional.empty()))
                .reconnect(new Backoff(Duration.ofMillis(100), Duration.ofMillis(400), 2, 0.5));
    }

    @Test
    void aCutWhileAListenerIsStillBusyIsNoticedOnceItReturns() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        BlockingQueue<TandemClient.State> states = new LinkedBlockingQueue<>();
        try (TandemClient alice = client("alice", proxy.port())
                .onEvent(e -> {
                    entered.countDown();
                    try {
                        release.await(20, TimeUnit.SECONDS); // a slow listener (it should not block: this one must)
                    } catch (InterruptedException x) {
                        Thread.currentThread().interrupt();
                    }
                })
                .onStateChange(states::add)
                .build();
             TandemClient bob = client("bob", gateway.port()).build()) {
            alice.connect().get(10, TimeUnit.SECONDS);
            bob.connect().get(10, TimeUnit.SECONDS);
            alice.subscribe("location:cut-1").get(10, TimeUnit.SECONDS);
            states.clear();
            var op = bob.documents().update("stock_level", "C-1",
                    DocChange.data(JSON.objectNode().put("locationId", "cut-1").put("qty", 1))).get(5, TimeUnit.SECONDS);
            OpStatus status = bob.documents().settled(op.opId()).get(10, TimeUnit.SECONDS).status();
            assertTrue(status == OpStatus.APPLIED, status.toString());
            assertTrue(entered.await(10, TimeUnit.SECONDS), "the event reached the listener");

            proxy.cutAll(); // no close frame: the client only sees the end of the TCP stream
            // time for the JDK to read that end of stream while the listener is still busy
            // (the failure this test guards against); the fixed client does not depend on it
            Thread.sleep(500);
            release.countDown();

            assertEquals(TandemClient.State.RECONNECTING, states.poll(10, TimeUnit.SECONDS),
                    "the cut is noticed (before the fix the client stayed connected to the dead socket)");
            assertEquals(TandemClient.State.CONNECTED, states.poll(10, TimeUnit.SECONDS));
        }
    }
}
