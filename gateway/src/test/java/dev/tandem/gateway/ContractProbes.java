package dev.tandem.gateway;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.tandem.contracts.Contracts;
import dev.tandem.testing.WsProbe;

/**
 * Opens the gateway tests' WebSocket clients: shared {@link WsProbe}s that each carry a fresh
 * {@link ContractInspector}, so every frame is held to the AsyncAPI contract:
 * <ul>
 *   <li>every frame the server sends is validated as it arrives; a violation fails the test at
 *       the next waiting call on the probe (or at {@link WsProbe#close()}), naming the frame and
 *       what is wrong;</li>
 *   <li>every frame sent with {@link WsProbe#send}, {@link WsProbe#request} or {@link #connect} is
 *       validated before it leaves, so a test cannot exercise a frame the contract does not
 *       describe. Frames that are invalid on purpose (bad input, the hostile battery) go through
 *       {@link WsProbe#sendInvalid}, {@link WsProbe#requestInvalid}, {@link WsProbe#sendFragments}
 *       or {@link WsProbe#sendBinary}, which bypass the inspector.</li>
 * </ul>
 */
final class ContractProbes {
    private static final Contracts CONTRACTS = Contracts.load();

    private ContractProbes() {
    }

    /** A client that reads one frame and then never again (a slow consumer / dead peer). */
    static WsProbe stalled(URI uri, String token) throws Exception {
        return WsProbe.stalled(uri, token, new ContractInspector(CONTRACTS));
    }

    static WsProbe open(URI uri) throws Exception {
        return open(uri, Map.of());
    }

    static WsProbe open(URI uri, Map<String, String> headers) throws Exception {
        return open(uri, headers, List.of("tandem.v1"));
    }

    static WsProbe open(URI uri, Map<String, String> headers, List<String> subprotocols) throws Exception {
        return WsProbe.open(uri, headers, subprotocols, new ContractInspector(CONTRACTS));
    }

    /** Opens and authenticates with a connect frame; returns after the welcome. */
    static WsProbe connect(URI uri, String token) throws Exception {
        return WsProbe.connect(uri, token, new ContractInspector(CONTRACTS));
    }

    /**
     * Holds one probe's frames to the contract. Server frames are checked on the socket's thread
     * and only recorded there (throwing would be lost in the listener); {@link #check()} reports
     * each recorded violation once. Client frames fail at once, in the test's thread.
     */
    static final class ContractInspector implements WsProbe.Inspector {
        private final Contracts contracts;
        /** Server frames that broke the contract, not yet reported. */
        private final List<String> violations = new CopyOnWriteArrayList<>();

        ContractInspector(Contracts contracts) {
            this.contracts = contracts;
        }

        @Override
        public void received(String text) {
            // non-JSON text is reported by the contract too ("not JSON: ..."), so it is not lost
            // when the probe's listener fails to parse it
            List<String> errors = contracts.serverFrameErrors(text);
            if (!errors.isEmpty()) {
                violations.add("server frame does not conform to the contract: " + String.join("; ", errors)
                        + "\n  " + abbreviate(text));
            }
        }

        @Override
        public void sending(String text) {
            contracts.assertClientFrame(text);
        }

        /** Fails if a server frame broke the contract (each violation is reported once). */
        @Override
        public void check() {
            if (!violations.isEmpty()) {
                List<String> found = List.copyOf(violations);
                violations.removeAll(found);
                throw new AssertionError(String.join("\n", found));
            }
        }

        private static String abbreviate(String text) {
            return text.length() > 2_000 ? text.substring(0, 2_000) + "…" : text;
        }
    }
}
