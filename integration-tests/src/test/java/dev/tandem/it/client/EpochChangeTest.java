package dev.tandem.it.client;

import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.client.Backoff;
import dev.tandem.client.Doc;
import dev.tandem.client.LiveDocument;
import dev.tandem.client.TandemClient;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The Java client reports a channel's history loss that it sees on a live connection: a live
 * event in a new epoch (Redis restarted without persistence while the gateway and the socket
 * stayed up) is announced through {@code onRecoveryLost} before it is delivered, and a live
 * document reads itself again. A scripted server stands in for the gateway, since a real one
 * changes a subscribed channel's epoch only when its Redis loses the history.
 */
class EpochChangeTest {
    private static final FrameCodec CODEC = FrameCodec.create();
    private WebServer server;
    private final AtomicReference<WsSession> session = new AtomicReference<>();
    /** The document {@code doc.get} answers with. */
    private final AtomicReference<ObjectNode> stored = new AtomicReference<>();
    private final AtomicLong docGets = new AtomicLong();

    @BeforeEach
    void start() {
        server = WebServer.builder().host("127.0.0.1").port(0)
                .addRouting(WsRouting.builder().endpoint("/ws", () -> new Script()))
                .build().start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
    }

    /** Answers connect, subscribe (at epoch e1, offset 1, with a snapshot when asked) and doc.get. */
    private final class Script implements WsListener {
        @Override
        public void onMessage(WsSession ws, String text, boolean last) {
            ClientFrame frame = CODEC.decodeClient(text);
            switch (frame) {
                case ClientFrame.Connect c -> {
                    session.set(ws);
                    send(ws, new ServerFrame.Welcome("s1", "fake", "alice", "t1", 25_000, Optional.empty(),
                            new ServerFrame.Limits(1 << 20, 100, 100, 100)));
                }
                case ClientFrame.Subscribe s -> {
                    ObjectNode body = CODEC.object().put("channel", s.channel()).put("epoch", "e1").put("offset", 1);
                    if (s.snapshot()) {
                        body.set("document", stored.get());
                    }
                    send(ws, new ServerFrame.Reply(s.id(), body));
                }
                case ClientFrame.DocGet g -> {
                    docGets.incrementAndGet();
                    send(ws, new ServerFrame.Reply(g.id(), CODEC.object().set("document", stored.get())));
                }
                default -> send(ws, new ServerFrame.Reply(frame.id(), CODEC.object()));
            }
        }
    }

    private static void send(WsSession ws, ServerFrame frame) {
        ws.send(CODEC.encode(frame), true);
    }

    private static ObjectNode doc(long version, int qty) {
        ObjectNode d = CODEC.object().put("docType", "stock_level").put("docId", "A-1").put("version", version);
        d.set("data", CODEC.object().put("qty", qty));
        return d;
    }

    private void push(String channel, Position at, ObjectNode data) {
        send(session.get(), new ServerFrame.Event(channel, Optional.of(at), "doc.changed", "ev-" + at, Instant.now(),
                Optional.empty(), data));
    }

    private TandemClient client(BlockingQueue<String> seen) {
        return TandemClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/ws"))
                .token(() -> "token")
                .reconnect(Backoff.none())
                .onRecoveryLost((channel, top) -> seen.add("lost " + channel + " " + top.epoch() + "/" + top.offset()))
                .onEvent(e -> seen.add("event " + e.channel() + " " + e.position().map(p -> p.epoch() + "/" + p.offset())
                        .orElse("-")))
                .build();
    }

    @Test
    void aLiveEventInANewEpochIsReportedAsLostRecoveryBeforeItIsDelivered() throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (TandemClient client = client(seen)) {
            client.connect().get(10, TimeUnit.SECONDS);
            client.subscribe("room:1").get(10, TimeUnit.SECONDS);
            push("room:1", new Position("e1", 2), CODEC.object());
            assertEquals("event room:1 e1/2", seen.poll(10, TimeUnit.SECONDS));
            // the server's history was lost: the channel goes on at offset 1 of a new epoch
            push("room:1", new Position("e2", 1), CODEC.object());
            assertEquals("lost room:1 e2/1", seen.poll(10, TimeUnit.SECONDS));
            assertEquals("event room:1 e2/1", seen.poll(10, TimeUnit.SECONDS));
            push("room:1", new Position("e2", 2), CODEC.object());
            assertEquals("event room:1 e2/2", seen.poll(10, TimeUnit.SECONDS), "reported once per new epoch");
            assertEquals(Optional.of(new Position("e2", 2)), client.position("room:1"));
        }
    }

    @Test
    void aLiveDocumentReadsItselfAgainWhenItsChannelStartsANewEpoch() throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        stored.set(doc(1, 5));
        try (TandemClient client = client(seen)) {
            client.connect().get(10, TimeUnit.SECONDS);
            BlockingQueue<Optional<Doc>> changes = new LinkedBlockingQueue<>();
            try (LiveDocument live = client.documents().watch("stock_level", "A-1")) {
                live.onChange(changes::add);
                assertEquals(1, live.ready().get(10, TimeUnit.SECONDS).orElseThrow().version());
                changes.clear(); // the first load
                // versions 2 and 3 were written while the history was lost: only 3 is read back
                stored.set(doc(3, 9));
                push(live.channel(), new Position("e2", 1), CODEC.object().put("type", "unrelated"));
                // the first load's change may reach the listener after clear() (listeners run on
                // the client's receive thread): skip it
                Doc reread;
                do {
                    Optional<Doc> next = changes.poll(10, TimeUnit.SECONDS);
                    assertNotNull(next, "the live document did not read itself again");
                    reread = next.orElseThrow();
                } while (reread.version() == 1);
                assertEquals(3, reread.version());
                assertEquals(9, reread.data().path("qty").asInt());
                assertEquals(1, docGets.get(), "one doc.get for the new epoch");
                assertNull(changes.poll(200, TimeUnit.MILLISECONDS), "no further change");
            }
        }
    }
}
