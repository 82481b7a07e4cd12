package dev.tandem.session;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.operations.Authentication;
import dev.tandem.operations.Result;
import dev.tandem.operations.UserRates;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.protocol.Utf8;
import dev.tandem.telemetry.LogText;

/**
 * The client frames an event stream sends apart from its stream (HTTP POSTs), each answered with
 * one frame. When a request names its stream's session and that session is open on this node, it
 * runs through that session: the connection's limits (frame size, message rate and flood, typing
 * signals), its principal as its connect hook admitted it. Otherwise (the stream is on another
 * node, or none is named) the same limits are kept per user on this node, and it acts as the
 * principal the connect hook admitted for its token ({@link Authentication#detachedRequest}).
 * Either way the user's rate on the node applies, and frames about a connection are
 * {@code bad_request} (the one {@link Dispatcher}, with no connection).
 */
final class Requests {
    private final Engine engine;
    private final Authentication authentication;
    private final FrameCodec codec;
    private final int maxFrameBytes;
    /** The message rate of requests without their session on this node, per user. */
    private final UserRates rates;
    /** The typing and cursor signals of requests without their session on this node, per user. */
    private final UserRates signals;

    Requests(Engine engine) {
        this.engine = engine;
        this.authentication = engine.operations().authentication();
        this.codec = engine.codec();
        SessionLimits limits = engine.limits();
        this.maxFrameBytes = limits.maxFrameBytes();
        this.rates = new UserRates(limits.messagesPerSecond(), limits.burst());
        this.signals = new UserRates(limits.ephemeralPerSecond(), limits.ephemeralPerSecond());
    }

    /**
     * One request: its token, its bytes as they came.
     *
     * @param via the stream's session when it is open on this node
     */
    ServerFrame take(Optional<Session> via, String token, byte[] utf8) {
        try {
            if (via.isPresent()) {
                Session s = via.get();
                Principal caller = authentication.request(token);
                Principal own = s.principal().orElseThrow();
                if (!caller.tenant().equals(own.tenant()) || !caller.user().equals(own.user())) {
                    throw new ProtocolException(ErrorCode.FORBIDDEN, "session " + LogText.safe(s.id())
                            + " belongs to another user");
                }
                if (utf8.length > maxFrameBytes) {
                    s.tooLarge(); // a message too large ends the connection, whatever carried it
                    throw tooLarge(utf8);
                }
                return run(own, utf8, s);
            }
            Principal who = authentication.detachedRequest(token);
            if (utf8.length > maxFrameBytes) {
                throw tooLarge(utf8);
            }
            return run(who, utf8, null);
        } catch (ProtocolException e) {
            engine.telemetry().error(e.code());
            return ServerFrame.Error.of(e);
        }
    }

    /**
     * The rest of a request's way in: UTF-8, the rate (the connection's, or the user's when
     * {@code via} is null), the user's rate on the node, the frame, its operation.
     */
    private ServerFrame run(Principal who, byte[] utf8, Session via) {
        long requestId = 0;
        try {
            String text = Utf8.decode(utf8);
            requestId = codec.peekId(text);
            if (!(via != null ? via.admitRequest() : rates.tryAcquire(who, 1))) {
                throw engine.rateLimited();
            }
            Optional<ProtocolException> over = engine.chargeUser(who);
            if (over.isPresent()) {
                throw over.get();
            }
            ClientFrame frame = codec.decodeClient(text);
            requestId = frame.id();
            engine.telemetry().frameIn(frame.op());
            if (via != null) {
                via.active(frame);
            }
            Result[] answer = new Result[1];
            engine.dispatcher().run(who, frame, null, via != null ? via::ephemeral : () -> signals.tryAcquire(who, 1),
                    r -> answer[0] = r);
            return switch (answer[0]) {
                case Result.Ok ok -> new ServerFrame.Reply(frame.id(), ok.body());
                case Result.Failed f -> new ServerFrame.Error(frame.id(), f.code(), f.message());
            };
        } catch (ProtocolException e) {
            return ServerFrame.Error.of(e.requestId() > 0 ? e : e.withRequestId(requestId));
        }
    }

    /** Too large: answered with the id the request starts with, if it can be read. */
    private ProtocolException tooLarge(byte[] utf8) {
        return new ProtocolException(ErrorCode.TOO_LARGE, codec.peekId(new String(utf8, StandardCharsets.UTF_8)),
                Wire.tooLarge(maxFrameBytes));
    }
}
