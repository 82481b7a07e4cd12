package dev.tandem.gateway;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.helidon.webserver.WebServer;
import io.helidon.webserver.websocket.WsRouting;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.tandem.contracts.Contracts;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The contract inspector that every gateway test's probe carries: a server frame the contract
 * does not allow fails the test, a client frame it does not allow never leaves, and frames sent
 * invalid on purpose bypass it.
 */
class ContractProbesTest {
    private static final Contracts CONTRACTS = Contracts.load();
    private static final String CONFORMING = "{\"op\":\"reply\",\"id\":1}";
    /** A reply with a field the contract does not list. */
    private static final String NON_CONFORMING = "{\"op\":\"reply\",\"id\":1,\"surprise\":true}";

    private WebSocketStub stub;

    // ------------------------------------------------------------------ the inspector alone

    @Test
    void aNonConformingServerFrameFailsTheNextCheckNamingTheFrameAndIsReportedOnce() {
        ContractProbes.ContractInspector inspector = new ContractProbes.ContractInspector(CONTRACTS);
        inspector.received(NON_CONFORMING);
        AssertionError e = assertThrows(AssertionError.class, inspector::check);
        assertTrue(e.getMessage().contains("does not conform to the contract"), e.getMessage());
        assertTrue(e.getMessage().contains("surprise"), e.getMessage());
        assertDoesNotThrow(inspector::check, "each violation is reported once");
    }

    @Test
    void aConformingServerFramePasses() {
        ContractProbes.ContractInspector inspector = new ContractProbes.ContractInspector(CONTRACTS);
        inspector.received(CONFORMING);
        assertDoesNotThrow(inspector::check);
    }

    @Test
    void aStreamOnlyFrameOnASocketIsAViolation() {
        ContractProbes.ContractInspector inspector = new ContractProbes.ContractInspector(CONTRACTS);
        inspector.received("{\"op\":\"subscribed\",\"channel\":\"tenant\",\"epoch\":\"e\",\"offset\":0}");
        AssertionError e = assertThrows(AssertionError.class, inspector::check);
        assertTrue(e.getMessage().contains("no server frame with op 'subscribed'"), e.getMessage());
    }

    @Test
    void serverTextThatIsNotJsonIsAViolation() {
        ContractProbes.ContractInspector inspector = new ContractProbes.ContractInspector(CONTRACTS);
        inspector.received("not json");
        AssertionError e = assertThrows(AssertionError.class, inspector::check);
        assertTrue(e.getMessage().contains("not json"), e.getMessage());
    }

    @Test
    void aNonConformingClientFrameFailsBeforeItLeaves() {
        ContractProbes.ContractInspector inspector = new ContractProbes.ContractInspector(CONTRACTS);
        assertThrows(AssertionError.class, () -> inspector.sending("{\"op\":\"subscribe\",\"id\":1}"));
        assertDoesNotThrow(() -> inspector.sending("{\"op\":\"ping\",\"id\":2}"));
    }

    // ------------------------------------------------------------------ wired into a probe

    /** Answers each complete message with the text set in {@link #answer}; records what arrived. */
    private static final class WebSocketStub {
        final List<String> arrived = new CopyOnWriteArrayList<>();
        private final StringBuilder partial = new StringBuilder();
        final WebServer server;
        volatile String answer = CONFORMING;

        WebSocketStub() {
            server = WebServer.builder().host("127.0.0.1").port(0)
                    .addRouting(WsRouting.builder().endpoint("/ws", () -> new WsListener() {
                        @Override
                        public void onMessage(WsSession ws, String fragment, boolean last) {
                            partial.append(fragment);
                            if (last) {
                                arrived.add(partial.toString());
                                partial.setLength(0);
                                ws.send(answer, true);
                            }
                        }
                    }))
                    .build().start();
        }

        URI uri() {
            return URI.create("ws://127.0.0.1:" + server.port() + "/ws");
        }
    }

    @BeforeEach
    void start() {
        stub = new WebSocketStub();
    }

    @AfterEach
    void stop() {
        stub.server.stop();
    }

    @Test
    void aProbeFromTheFactoryFailsTheNextWaitingCallOnANonConformingServerFrame() throws Exception {
        try (WsProbe p = ContractProbes.open(stub.uri())) {
            assertEquals(1, p.request(1, "{\"op\":\"ping\",\"id\":1}").path("id").asLong());
            stub.answer = NON_CONFORMING;
            p.send("{\"op\":\"ping\",\"id\":1}");
            AssertionError e = assertThrows(AssertionError.class, () -> p.poll(WsProbe.WAIT));
            assertTrue(e.getMessage().contains("surprise"), e.getMessage());
        }
    }

    @Test
    void aViolationNoCallReportedFailsAtClose() throws Exception {
        stub.answer = NON_CONFORMING;
        WsProbe p = ContractProbes.open(stub.uri());
        p.send("{\"op\":\"ping\",\"id\":1}");
        // take the frame from the queue directly: a waiting call on the probe would report it
        assertNotNull(p.frames.poll(WsProbe.WAIT.toMillis(), TimeUnit.MILLISECONDS));
        AssertionError e = assertThrows(AssertionError.class, p::close);
        assertTrue(e.getMessage().contains("surprise"), e.getMessage());
    }

    @Test
    void aNonConformingClientFrameNeverLeavesButInvalidOnPurposeFramesBypassTheCheck() throws Exception {
        try (WsProbe p = ContractProbes.open(stub.uri())) {
            String bad = "{\"op\":\"ping\",\"id\":1,\"junk\":true}";
            assertThrows(AssertionError.class, () -> p.send(bad));
            assertThrows(AssertionError.class, () -> p.request(1, bad));
            assertEquals(1, p.requestInvalid(1, bad).path("id").asLong());
            p.sendInvalid(bad);
            p.next();
            p.sendFragments("{\"op\":\"ping\",", "\"junk\":true}");
            p.next();
            assertEquals(List.of(bad, bad, "{\"op\":\"ping\",\"junk\":true}"), stub.arrived,
                    "only the frames sent invalid on purpose reached the server");
        }
    }
}
