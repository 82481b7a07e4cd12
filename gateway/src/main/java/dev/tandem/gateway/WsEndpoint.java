package dev.tandem.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import dev.tandem.protocol.CloseCode;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.session.Frame;
import dev.tandem.session.Session;
import dev.tandem.session.Transport;
import dev.tandem.telemetry.LogText;

import io.helidon.common.buffers.BufferData;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.http.WritableHeaders;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.websocket.WsUpgrader;
import io.helidon.websocket.WsListener;
import io.helidon.websocket.WsSession;

/**
 * The {@code /ws} endpoint: one instance per connection. It checks the upgrade (origin,
 * subprotocol, bearer token), joins message fragments under a size cap, and hands complete
 * messages to the connection's {@link Session}; the session (limits, timers, hooks, operations)
 * is the one every transport has. Everything the session writes goes through the node's
 * writers, including pongs.
 * <p>
 * An idle node holds one of these per connection, so its fields are kept few and small: the
 * fragment buffer exists only while a fragmented message is being joined.
 */
final class WsEndpoint implements WsListener, ConnectionWatch.Watched {
    private static final System.Logger LOG = System.getLogger(WsEndpoint.class.getName());

    /** RFC 6455's code for a connection that ended without a close frame (never sent on the wire). */
    private static final int DROPPED = 1006;
    /**
     * The headers an accepted upgrade adds: the same for every connection, so one instance. Helidon
     * keeps what {@link #onHttpUpgrade} returns for the connection's life (it answers
     * {@code subProtocol()} from it), and a new {@code WritableHeaders} per connection cost ~0.7 KiB
     * of heap each (its table of known header names alone ~310 bytes). Never modified after class
     * initialization, which publishes it: only read, by any number of connections.
     */
    private static final Headers SUBPROTOCOL_CHOSEN = subprotocolChosen();

    private final Gateway gateway;
    // only while a fragmented message is being joined (on the connection's thread)
    private Optional<StringBuilder> fragments = Optional.empty();
    private Optional<String> upgradeToken = Optional.empty();
    private volatile Session session;
    private String address = "?";
    private boolean tooLarge;

    WsEndpoint(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public Optional<Headers> onHttpUpgrade(HttpPrologue prologue, Headers headers) {
        Optional<String> origin = headers.first(HeaderNames.ORIGIN);
        if (origin.isPresent() && !gateway.originAllowed(origin.get(), headers.first(HeaderNames.HOST))) {
            throw reject(Status.FORBIDDEN_403, "origin not allowed");
        }
        if (!gateway.engine().accepting()) {
            throw reject(Status.SERVICE_UNAVAILABLE_503, "node is draining");
        }
        upgradeToken = RequestParts.bearer(headers);
        if (headers.contains(WsUpgrader.PROTOCOL)) {
            // a comma-separated list, with or without spaces ("chat,tandem.v1" is as valid as
            // "chat, tandem.v1"), possibly over several header lines
            boolean offered = headers.get(WsUpgrader.PROTOCOL).allValues().stream()
                    .flatMap(v -> java.util.Arrays.stream(v.split(",")))
                    .anyMatch(p -> p.trim().equals(FrameCodec.SUBPROTOCOL));
            if (!offered) {
                throw reject(Status.BAD_REQUEST_400, "subprotocol " + FrameCodec.SUBPROTOCOL + " required");
            }
            return Optional.of(SUBPROTOCOL_CHOSEN);
        }
        return Optional.empty();
    }

    private static Headers subprotocolChosen() {
        WritableHeaders<?> h = WritableHeaders.create();
        h.set(HeaderValues.createCached(WsUpgrader.PROTOCOL, FrameCodec.SUBPROTOCOL));
        return h;
    }

    @Override
    public void onOpen(WsSession ws) {
        address = RequestParts.address(ws.socketContext().remotePeer().address());
        // every callback of this connection runs on this thread, which ends with the connection
        // even when Helidon calls neither onClose nor onError (a socket cut without a close frame)
        gateway.connectionWatch().watch(this, Thread.currentThread());
        try {
            session = gateway.engine().open(new WsTransport(ws, address), upgradeToken);
        } catch (RuntimeException e) {
            // Helidon closes with 1011 and calls neither onClose nor onError
            gateway.connectionWatch().forget(this);
            throw e;
        } finally {
            upgradeToken = Optional.empty();
        }
    }

    @Override
    public void onMessage(WsSession ws, String text, boolean last) {
        if (session == null) {
            return;
        }
        int max = gateway.engine().limits().maxFrameBytes();
        if (tooLarge) {
            return;
        }
        if (last && fragments.isEmpty()) {
            receive(text);
            return;
        }
        StringBuilder joined = fragments.orElseGet(StringBuilder::new);
        if (joined.length() + text.length() > max) {
            tooLarge = true;
            fragments = Optional.empty();
            session.tooLarge();
            return;
        }
        joined.append(text);
        if (last) {
            fragments = Optional.empty();
            receive(joined.toString());
        } else {
            fragments = Optional.of(joined);
        }
    }

    /**
     * Hands a whole text message to the session. Helidon decodes text frames leniently, replacing
     * bytes that are not UTF-8 with U+FFFD before Tandem sees them, so the bytes cannot be checked
     * as every other input's are ({@link dev.tandem.protocol.Utf8}): a message holding U+FFFD is
     * refused as invalid UTF-8 rather than taken with its content silently altered.
     */
    private void receive(String text) {
        if (text.indexOf('\uFFFD') >= 0) {
            session.refuse(ErrorCode.BAD_REQUEST, "not valid UTF-8 (text frames must be UTF-8; U+FFFD is refused "
                    + "because it stands for bytes that were not)", gateway.codec().peekId(text));
            return;
        }
        session.receive(text);
    }

    @Override
    public void onMessage(WsSession ws, BufferData buffer, boolean last) {
        if (session != null && last) {
            session.refuse(ErrorCode.BAD_REQUEST, "binary frames are not part of " + FrameCodec.SUBPROTOCOL
                    + "; send JSON text frames", 0);
        }
    }

    @Override
    public void onPing(WsSession ws, BufferData buffer) {
        if (session != null) {
            byte[] payload = new byte[buffer.available()];
            buffer.read(payload);
            session.pinged(payload);
        }
    }

    @Override
    public void onPong(WsSession ws, BufferData buffer) {
        if (session != null) {
            session.heard();
        }
    }

    @Override
    public void onClose(WsSession ws, int status, String reason) {
        ended(status);
    }

    @Override
    public void onError(WsSession ws, Throwable t) {
        LOG.log(System.Logger.Level.DEBUG, () -> "connection " + address + " failed: " + LogText.safe(String.valueOf(t)));
        ended(CloseCode.INTERNAL.code());
    }

    /** The connection's thread ended without onClose or onError (see {@link ConnectionWatch}). */
    @Override
    public void dropped() {
        ended(DROPPED);
    }

    private void ended(int status) {
        gateway.connectionWatch().forget(this);
        Session s = session;
        if (s != null) {
            s.transportClosed(status);
        }
    }

    private static RequestException reject(Status status, String message) {
        return RequestException.builder()
                .type(DirectHandler.EventType.FORBIDDEN)
                .status(status)
                .message(message)
                .build();
    }

    /** The session's transport over a Helidon WebSocket; used by the session's single writer. */
    private final class WsTransport implements Transport {
        private final WsSession ws;
        private final String remote;

        private WsTransport(WsSession ws, String remote) {
            this.ws = ws;
            this.remote = remote;
        }

        /**
         * Writes the frames in one socket write, through the connection's own writer (the one
         * Helidon's {@code send} uses, so frames never interleave with Helidon's).
         */
        @Override
        public void send(List<Frame> frames) throws IOException {
            try {
                if (ws.socketContext() instanceof ConnectionContext ctx) {
                    ctx.dataWriter().writeNow(BufferData.create(WsFrames.text(frames, Frame::utf8)));
                } else {
                    for (Frame f : frames) {
                        ws.send(new String(f.utf8(), StandardCharsets.UTF_8), true);
                    }
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }

        @Override
        public void ping() throws IOException {
            try {
                ws.ping(BufferData.empty());
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }

        @Override
        public void pong(byte[] payload) throws IOException {
            try {
                ws.pong(BufferData.create(payload));
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
        }

        @Override
        public void close(int code, String reason) {
            try {
                ws.close(code, reason);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> "close of " + remote + " failed: " + e);
            }
        }

        @Override
        public String remoteAddress() {
            return remote;
        }
    }
}
