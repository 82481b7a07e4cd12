package dev.tandem.testing;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe's frame inspector: what it sees, what bypasses it, and how its findings fail a test. */
class WsProbeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private WebServer server;

    /** Answers {@code connect} with a welcome and a reply, any other request with a reply, and "bad" with a bad frame. */
    private static final class Echo implements WsListener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public void onMessage(WsSession ws, String fragment, boolean last) {
            partial.append(fragment);
            if (!last) {
                return;
            }
            String text = partial.toString();
            partial.setLength(0);
            try {
                JsonNode f = JSON.readTree(text);
                if (f.path("op").asText().equals("connect")) {
                    ws.send("{\"op\":\"welcome\",\"session\":\"s1\"}", true);
                }
                if (f.path("op").asText().equals("bad")) {
                    ws.send("{\"op\":\"nonsense\"}", true);
                }
                ws.send("{\"op\":\"reply\",\"id\":" + f.path("id").asLong() + "}", true);
            } catch (Exception e) {
                ws.send("{\"op\":\"error\",\"id\":0,\"code\":\"bad_request\"}", true);
            }
        }
    }

    /** Records every frame; flags a received frame with an unknown op for {@link #check()}. */
    private static final class Recorder implements WsProbe.Inspector {
        final List<String> seen = new CopyOnWriteArrayList<>();
        final List<String> problems = new CopyOnWriteArrayList<>();

        @Override
        public void received(String text) {
            seen.add("in " + text);
            if (text.contains("nonsense")) {
                problems.add("unknown op in " + text);
            }
        }

        @Override
        public void sending(String text) {
            seen.add("out " + text);
        }

        @Override
        public void check() {
            if (!problems.isEmpty()) {
                String found = String.join("; ", problems);
                problems.clear();
                throw new AssertionError(found);
            }
        }
    }

    @BeforeEach
    void start() {
        server = WebServer.builder().host("127.0.0.1").port(0)
                .addRouting(WsRouting.builder().endpoint("/ws", Echo::new))
                .build().start();
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    private URI uri() {
        return URI.create("ws://127.0.0.1:" + server.port() + "/ws");
    }

    @Test
    void theInspectorSeesEveryFrameSentAsValidAndEveryFrameReceivedInOrder() throws Exception {
        Recorder r = new Recorder();
        try (WsProbe p = WsProbe.connect(uri(), "t", r)) {
            assertEquals("reply", p.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText());
            assertEquals("reply", p.requestInvalid(3, "{\"op\":\"ping\",\"id\":3,\"junk\":true}").path("op").asText());
            p.sendFragments("{\"op\":\"ping\",", "\"id\":4}");
            p.answer(4);
        }
        assertEquals(List.of(
                "out {\"op\":\"connect\",\"id\":1,\"token\":\"t\"}",
                "in {\"op\":\"welcome\",\"session\":\"s1\"}",
                "in {\"op\":\"reply\",\"id\":1}",
                "out {\"op\":\"ping\",\"id\":2}",
                "in {\"op\":\"reply\",\"id\":2}",
                "in {\"op\":\"reply\",\"id\":3}", // the invalid request itself bypassed the inspector
                "in {\"op\":\"reply\",\"id\":4}"), r.seen);
    }

    @Test
    void whatTheInspectorRecordedFailsTheNextCallOnTheProbe() throws Exception {
        Recorder r = new Recorder();
        try (WsProbe p = WsProbe.open(uri(), Map.of(), List.of("tandem.v1"), r)) {
            p.send("{\"op\":\"bad\",\"id\":7}");
            AssertionError e = assertThrows(AssertionError.class, () -> p.answer(7));
            assertTrue(e.getMessage().contains("unknown op"), e.getMessage());
            assertEquals(7, p.answer(7).path("id").asLong(), "reported once; the probe goes on");
        }
    }

    @Test
    void anInspectorCanRefuseAFrameBeforeItLeaves() throws Exception {
        WsProbe.Inspector strict = new WsProbe.Inspector() {
            @Override
            public void sending(String text) {
                if (text.contains("junk")) {
                    throw new AssertionError("not in the contract: " + text);
                }
            }
        };
        try (WsProbe p = WsProbe.open(uri(), Map.of(), List.of("tandem.v1"), strict)) {
            assertThrows(AssertionError.class, () -> p.send("{\"op\":\"ping\",\"id\":1,\"junk\":1}"));
            assertEquals("reply", p.request(2, "{\"op\":\"ping\",\"id\":2}").path("op").asText(), "nothing was sent");
            assertEquals(2, p.poll(java.time.Duration.ZERO) == null ? 2 : -1, "no reply to the refused frame");
        }
    }
}
