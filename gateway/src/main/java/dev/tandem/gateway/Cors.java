package dev.tandem.gateway;

import java.util.Optional;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Method;
import io.helidon.http.Status;
import io.helidon.webserver.http.Filter;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;

/**
 * Cross-origin requests to the HTTP side (REST, SSE streams and sends, the development token
 * endpoint), governed by the same {@link Origins} allow-list as the WebSocket upgrade. A request
 * from an allowed origin gets its exact origin echoed ({@code Access-Control-Allow-Origin}, never
 * {@code *}; no credentials mode is offered, since Tandem authenticates with bearer tokens, not
 * cookies) and its preflight answered; a request from another origin is refused with 403
 * {@code forbidden}, as its WebSocket upgrade would be. Requests without an {@code Origin} (servers,
 * backends) pass untouched.
 */
final class Cors implements Filter {
    private static final HeaderName ALLOW_ORIGIN = HeaderNames.create("Access-Control-Allow-Origin");
    private static final HeaderName ALLOW_METHODS = HeaderNames.create("Access-Control-Allow-Methods");
    private static final HeaderName ALLOW_HEADERS = HeaderNames.create("Access-Control-Allow-Headers");
    private static final HeaderName EXPOSE_HEADERS = HeaderNames.create("Access-Control-Expose-Headers");
    private static final HeaderName MAX_AGE = HeaderNames.create("Access-Control-Max-Age");
    private static final HeaderName REQUEST_METHOD = HeaderNames.create("Access-Control-Request-Method");

    private final Origins origins;
    private final FrameCodec codec;

    Cors(Origins origins, FrameCodec codec) {
        this.origins = origins;
        this.codec = codec;
    }

    @Override
    public void filter(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        Optional<String> origin = req.headers().first(HeaderNames.ORIGIN);
        if (origin.isEmpty()) {
            chain.proceed();
            return;
        }
        res.headers().set(HeaderNames.VARY, "Origin");
        if (!origins.allows(origin.get(), req.headers().first(HeaderNames.HOST))) {
            res.status(Status.FORBIDDEN_403);
            res.headers().contentType(MediaTypes.APPLICATION_JSON);
            res.send(codec.write(codec.object().put("code", ErrorCode.FORBIDDEN.wire())
                    .put("message", "origin not allowed (tandem.origins)")));
            return;
        }
        res.headers().set(ALLOW_ORIGIN, origin.get());
        res.headers().set(EXPOSE_HEADERS, "WWW-Authenticate, Retry-After");
        if (req.prologue().method() == Method.OPTIONS && req.headers().contains(REQUEST_METHOD)) {
            res.headers().set(ALLOW_METHODS, "GET, POST, DELETE, OPTIONS");
            res.headers().set(ALLOW_HEADERS, "Authorization, Content-Type, Last-Event-ID");
            res.headers().set(MAX_AGE, "600");
            res.status(Status.NO_CONTENT_204).send();
            return;
        }
        chain.proceed();
    }
}
