package dev.tandem.it.client;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import org.junit.jupiter.api.Test;

import dev.tandem.client.Backoff;
import dev.tandem.client.TandemClient;
import dev.tandem.delta.Fossil;
import dev.tandem.gateway.DevTokens;
import dev.tandem.gateway.Gateway;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.Position;
import dev.tandem.protocol.ServerFrame;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java client on delta subscriptions: against a real gateway the application gets every
 * payload whole, as published; against a scripted server, a delta that does not fit (a broken
 * chain) makes the client unsubscribe and subscribe again from the last whole position, and what
 * follows arrives whole.
 */
class DeltaClientTest {
    private static final FrameCodec CODEC = FrameCodec.create();

    private static String stock(int i) {
        return "{\"sku\":\"A-1\",\"name\":\"Anvil, forged, 20 kg\",\"location\":\"wh-7\",\"qty\":" + (100 - i)
                + ",\"reserved\":" + (i % 3) + "}";
    }

    @Test
    void theApplicationGetsEveryPayloadWholeFromARealGateway() throws Exception {
        Config config = Config.builder().disableEnvironmentVariablesSource().disableSystemPropertiesSource()
                .sources(ConfigSources.create(Map.of("server.port", "0", "server.host", "127.0.0.1",
                                "tandem.dev-mode", "true",
                                "tandem.documents.db.url", "jdbc:h2:mem:delta-client;DB_CLOSE_DELAY=-1")),
                        ConfigSources.classpath("application.yaml"))
                .build();
        Gateway gateway = Gateway.start(config);
        HttpClient http = HttpClient.newHttpClient();
        BlockingQueue<ServerFrame.Event> events = new LinkedBlockingQueue<>();
        try (TandemClient client = TandemClient.builder(URI.create("ws://127.0.0.1:" + gateway.port() + "/ws"))
                .token(() -> DevTokens.mint(DevTokens.DEV_SECRET, "alice", "acme", List.of(), Map.of(),
                        Duration.ofHours(1), Optional.empty(), Optional.empty()))
                .onEvent(events::add)
                .build()) {
            client.connect().get(10, TimeUnit.SECONDS);
            ServerFrame.Reply reply = client.subscribeWithDeltas("tenant").get(10, TimeUnit.SECONDS);
            assertTrue(reply.body().path("delta").asBoolean(), "tenant allows deltas: " + reply.body());
            String service = DevTokens.mint(DevTokens.DEV_SECRET, "erp", "acme", List.of("service"), Map.of(),
                    Duration.ofHours(1), Optional.empty(), Optional.empty());
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> res = http.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + gateway.port() + "/api/v1/publish"))
                        .header("Authorization", "Bearer " + service)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"channel\":\"tenant\",\"type\":\"stock.updated\","
                                + "\"data\":" + stock(i) + "}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, res.statusCode(), res.body());
            }
            for (int i = 0; i < 10; i++) {
                ServerFrame.Event e = events.poll(10, TimeUnit.SECONDS);
                assertNotNull(e, "event " + (i + 1));
                assertEquals(ServerFrame.Event.Form.PAYLOAD, e.form(), "handed on whole");
                assertEquals(i + 1, e.position().orElseThrow().offset());
                assertEquals(CODEC.parse(stock(i)), e.data());
            }
        } finally {
            gateway.stop();
        }
    }

    @Test
    void aBrokenChainIsResubscribedFromTheLastWholePosition() throws Exception {
        BlockingQueue<ClientFrame> heard = new LinkedBlockingQueue<>();
        AtomicReference<WsSession> session = new AtomicReference<>();
        WebServer server = WebServer.builder().host("127.0.0.1").port(0)
                .addRouting(WsRouting.builder().endpoint("/ws", () -> new WsListener() {
                    @Override
                    public void onMessage(WsSession ws, String text, boolean last) {
                        ClientFrame frame = CODEC.decodeClient(text);
                        ObjectNode body = CODEC.object();
                        switch (frame) {
                            case ClientFrame.Connect c -> {
                                session.set(ws);
                                ws.send(CODEC.encode(new ServerFrame.Welcome("s1", "fake", "alice", "t1", 25_000,
                                        Optional.empty(), new ServerFrame.Limits(1 << 20, 100, 100, 100))), true);
                                heard.add(frame);
                                return;
                            }
                            case ClientFrame.Subscribe s -> body.put("channel", s.channel()).put("epoch", "e1")
                                    .put("offset", 1).put("delta", s.delta().isPresent());
                            default -> {
                            }
                        }
                        ws.send(CODEC.encode(new ServerFrame.Reply(frame.id(), body)), true);
                        heard.add(frame); // after the reply: what the test sends next comes after it
                    }
                }))
                .build().start();
        BlockingQueue<ServerFrame.Event> events = new LinkedBlockingQueue<>();
        try (TandemClient client = TandemClient.builder(URI.create("ws://127.0.0.1:" + server.port() + "/ws"))
                .token(() -> "token")
                .reconnect(Backoff.none())
                .onEvent(events::add)
                .build()) {
            client.connect().get(10, TimeUnit.SECONDS);
            client.subscribeWithDeltas("location:wh-7").get(10, TimeUnit.SECONDS);
            // the server notes a frame just after replying to it, so the client may have the reply
            // first: take what it noted up to the subscribe before listening for what follows
            ClientFrame noted;
            do {
                noted = heard.poll(10, TimeUnit.SECONDS);
                assertNotNull(noted, "the server noted the subscribe");
            } while (!(noted instanceof ClientFrame.Subscribe));
            push(session.get(), 2, ServerFrame.Event.Form.TEXT, stock(2));
            String good = new String(Fossil.encode(stock(2).getBytes(StandardCharsets.UTF_8),
                    stock(3).getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            push(session.get(), 3, ServerFrame.Event.Form.FOSSIL, good);
            assertEquals(CODEC.parse(stock(2)), events.poll(10, TimeUnit.SECONDS).data());
            assertEquals(CODEC.parse(stock(3)), events.poll(10, TimeUnit.SECONDS).data(), "a delta applied");
            // a delta made against another payload than offset 3's (its copies land elsewhere):
            // the checksum gives it away
            String wrong = new String(Fossil.encode((" " + stock(3)).getBytes(StandardCharsets.UTF_8),
                    stock(4).getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            push(session.get(), 4, ServerFrame.Event.Form.FOSSIL, wrong);
            push(session.get(), 5, ServerFrame.Event.Form.FOSSIL, good); // in flight: dropped
            ClientFrame unsubscribe = heard.poll(10, TimeUnit.SECONDS);
            assertTrue(unsubscribe instanceof ClientFrame.Unsubscribe u && u.channel().equals("location:wh-7"),
                    "unsubscribed: " + unsubscribe);
            ClientFrame again = heard.poll(10, TimeUnit.SECONDS);
            assertTrue(again instanceof ClientFrame.Subscribe, "subscribed again: " + again);
            ClientFrame.Subscribe s = (ClientFrame.Subscribe) again;
            assertEquals(Optional.of(new Position("e1", 3)), s.since(), "from the last whole payload");
            assertEquals(Optional.of("fossil"), s.delta(), "still with deltas");
            // the server replays from there, whole
            push(session.get(), 4, ServerFrame.Event.Form.TEXT, stock(4));
            ServerFrame.Event replayed = events.poll(10, TimeUnit.SECONDS);
            assertEquals(4, replayed.position().orElseThrow().offset(), "nothing of the broken chain was handed on");
            assertEquals(CODEC.parse(stock(4)), replayed.data());
            assertNull(events.poll(200, TimeUnit.MILLISECONDS));
        } finally {
            server.stop();
        }
    }

    private static void push(WsSession ws, long offset, ServerFrame.Event.Form form, String text) {
        ws.send(CODEC.encode(new ServerFrame.Event("location:wh-7", Optional.of(new Position("e1", offset)),
                "stock.updated", Optional.empty(), Instant.now(), Optional.empty(), TextNode.valueOf(text), form)), true);
    }
}
