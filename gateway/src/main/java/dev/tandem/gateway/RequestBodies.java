package dev.tandem.gateway;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.webserver.http.ServerRequest;

/**
 * Reads request bodies for the HTTP endpoints (REST, SSE send), as bytes: each endpoint then
 * parses them strictly ({@link dev.tandem.protocol.Utf8}). A body that cannot be read because the
 * client stopped sending (an aborted upload, a connection cut mid-body) is the client's ordinary
 * failure, not the server's: a {@code bad_request}, logged at debug level, never an internal error.
 */
final class RequestBodies {
    private static final System.Logger LOG = System.getLogger(RequestBodies.class.getName());

    private RequestBodies() {
    }

    /**
     * At most {@code max} bytes of the body, empty when there is none: a caller that reads one
     * byte more than it takes can tell a body too large without holding all of it.
     */
    static byte[] read(ServerRequest req, int max) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try (java.io.InputStream in = req.content().inputStream()) {
            return in.readNBytes(max);
        } catch (io.helidon.http.RequestException e) {
            throw e;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "request body not read: " + e.getClass().getSimpleName());
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "the request body could not be read completely");
        }
    }

    /** The body's bytes, empty when there is none. */
    static byte[] read(ServerRequest req) {
        if (!req.content().hasEntity()) {
            return new byte[0];
        }
        try {
            return req.content().as(byte[].class);
        } catch (io.helidon.http.RequestException e) {
            throw e; // too large and the like: Helidon answers it with its status
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "request body not read: " + e.getClass().getSimpleName());
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "the request body could not be read completely");
        }
    }
}
