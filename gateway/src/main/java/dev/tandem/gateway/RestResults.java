package dev.tandem.gateway;

import dev.tandem.operations.Result;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * How every service-API route answers: an operation's {@link Result} as JSON (a refusal as
 * {@code {code, message}} with its HTTP status, {@code WWW-Authenticate} on 401), and what a
 * request that failed outside an operation becomes. Written once for every REST route.
 */
final class RestResults {
    private static final System.Logger LOG = System.getLogger(RestResults.class.getName());

    private RestResults() {
    }

    /** Writes {@code result} as the response. */
    static void send(ServerResponse res, FrameCodec codec, Result result) {
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        switch (result) {
            case Result.Ok ok -> res.send(codec.write(ok.body()));
            case Result.Failed f -> {
                res.status(Status.create(f.code().httpStatus()));
                if (f.code() == ErrorCode.UNAUTHORIZED) {
                    res.headers().set(HeaderNames.WWW_AUTHENTICATE, "Bearer");
                }
                res.send(codec.write(codec.object().put("code", f.code().wire()).put("message", f.message())));
            }
        }
    }

    /**
     * What a request that failed before or outside an operation answers: a refusal with its code;
     * anything unexpected is logged and {@code internal}. Helidon's own request errors go to Helidon.
     */
    static Result failure(ServerRequest req, RuntimeException e) {
        if (e instanceof ProtocolException p) {
            return Result.failed(p);
        }
        if (e instanceof io.helidon.http.RequestException || e instanceof io.helidon.http.HttpException) {
            throw e;
        }
        LOG.log(System.Logger.Level.ERROR, "REST " + req.prologue().method().text() + " "
                + LogText.safe(req.prologue().uriPath().rawPath()) + " failed", LogText.scrub(e));
        return new Result.Failed(ErrorCode.INTERNAL, "internal error; see the server log");
    }
}
