package dev.tandem.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import dev.tandem.protocol.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A failing token supplier fails connect() with a distinct error and opens no socket. */
class TokenSupplierTest {
    private ServerSocket server;
    private final AtomicInteger accepted = new AtomicInteger();

    @BeforeEach
    void listen() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    accepted.incrementAndGet(); // counted, then closed: no upgrade
                } catch (IOException e) {
                    return;
                }
            }
        }, "token-test-accept");
        t.setDaemon(true);
        t.start();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
    }

    private TandemClient client(Supplier<String> token) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + server.getLocalPort() + "/ws"))
                .token(token)
                .reconnect(Backoff.none())
                .build();
    }

    @Test
    void aThrowingSupplierFailsConnectWithTokenUnavailableAndOpensNoSocket() throws Exception {
        IllegalStateException boom = new IllegalStateException("token service down");
        try (TandemClient client = client(() -> { throw boom; })) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> client.connect().get(5, TimeUnit.SECONDS));
            TandemClientException t = assertInstanceOf(TandemClientException.class, e.getCause());
            assertTrue(t.tokenUnavailable());
            assertEquals(ErrorCode.UNAVAILABLE, t.code().orElseThrow());
            assertSame(boom, t.getCause());
            assertEquals(TandemClient.State.CLOSED, client.state());
            Thread.sleep(200);
            assertEquals(0, accepted.get(), "no connection was attempted");
        }
    }

    @Test
    void aNullTokenIsATokenFailureAndTheNextConnectTriesAgain() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (TandemClient client = client(() -> calls.incrementAndGet() == 1 ? null : "a-token")) {
            ExecutionException first = assertThrows(ExecutionException.class,
                    () -> client.connect().get(5, TimeUnit.SECONDS));
            assertTrue(assertInstanceOf(TandemClientException.class, first.getCause()).tokenUnavailable());
            assertEquals(0, accepted.get());
            // the supplier works now: the next connect() opens a socket (refused here: not a token failure)
            ExecutionException second = assertThrows(ExecutionException.class,
                    () -> client.connect().get(10, TimeUnit.SECONDS));
            assertFalse(assertInstanceOf(TandemClientException.class, second.getCause()).tokenUnavailable());
            assertTrue(accepted.get() >= 1, "a socket was opened");
        }
    }
}
