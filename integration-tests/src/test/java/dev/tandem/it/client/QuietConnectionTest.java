package dev.tandem.it.client;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import dev.tandem.client.Backoff;
import dev.tandem.client.TandemClient;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ServerFrame;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the Java client judges a quiet connection (heartbeat 1 s, request timeout 1 s): after a
 * heartbeat without traffic it sends a {@code ping}; a server that answers keeps the
 * connection however quiet it is otherwise, one that answers nothing is given up. A scripted
 * server stands in for the gateway (which pings by itself and so is never quiet).
 */
class QuietConnectionTest {
    private static final FrameCodec CODEC = FrameCodec.create();
    private WebServer server;
    private final BlockingQueue<String> pings = new LinkedBlockingQueue<>();

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
    }

    /** Welcomes with a 1 s heartbeat, never pings, and answers {@code ping} requests only while {@code answer}. */
    private void start(AtomicBoolean answer) {
        server = WebServer.builder().host("127.0.0.1").port(0)
                .addRouting(WsRouting.builder().endpoint("/ws", () -> new WsListener() {
                    @Override
                    public void onMessage(WsSession ws, String text, boolean last) {
                        switch (CODEC.decodeClient(text)) {
                            case ClientFrame.Connect c -> ws.send(CODEC.encode(new ServerFrame.Welcome("s1", "fake",
                                    "alice", "t1", 1_000, Optional.empty(), new ServerFrame.Limits(1 << 20, 100, 100, 100))),
                                    true);
                            case ClientFrame.Ping p -> {
                                pings.add("ping " + p.id());
                                if (answer.get()) {
                                    ws.send(CODEC.encode(new ServerFrame.Reply(p.id(), CODEC.object())), true);
                                }
                            }
                            default -> { }
                        }
                    }
                }))
                .build().start();
    }

    private TandemClient client(BlockingQueue<TandemClient.State> states) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/ws"))
                .token(() -> "token")
                .requestTimeout(Duration.ofSeconds(1))
                .reconnect(Backoff.none())
                .onStateChange(states::add)
                .build();
    }

    @Test
    void aQuietServerThatAnswersPingsKeepsTheConnection() throws Exception {
        start(new AtomicBoolean(true));
        BlockingQueue<TandemClient.State> states = new LinkedBlockingQueue<>();
        try (TandemClient client = client(states)) {
            client.connect().get(10, TimeUnit.SECONDS);
            states.clear();
            for (int i = 0; i < 4; i++) { // four heartbeats without a frame from the server but the replies
                assertTrue(pings.poll(10, TimeUnit.SECONDS) != null, "a ping after a quiet heartbeat");
            }
            assertNull(states.poll(), "still connected");
            assertEquals(TandemClient.State.CONNECTED, client.state());
        }
    }

    @Test
    void aServerThatAnswersNothingIsGivenUpAfterItsPingGoesUnanswered() throws Exception {
        start(new AtomicBoolean(false));
        BlockingQueue<TandemClient.State> states = new LinkedBlockingQueue<>();
        try (TandemClient client = client(states)) {
            client.connect().get(10, TimeUnit.SECONDS);
            states.clear();
            assertTrue(pings.poll(10, TimeUnit.SECONDS) != null, "asked before giving up");
            assertEquals(TandemClient.State.CLOSED, states.poll(10, TimeUnit.SECONDS), "given up (no reconnect configured)");
        }
    }
}
