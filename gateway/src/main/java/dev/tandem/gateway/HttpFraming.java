package dev.tandem.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HttpPrologue;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * Guards HTTP/1.1 request framing, which Helidon 4.1.2 leaves to the application, so that a
 * proxy in front and this node can never disagree on where a request ends (request smuggling),
 * and bounds how long a request's headers may take to arrive (slowloris):
 * <ul>
 *   <li>a request with both {@code Content-Length} and {@code Transfer-Encoding}, more than one
 *       {@code Content-Length}, or a {@code Transfer-Encoding} other than exactly {@code chunked}
 *       is answered 400 and its connection closed (RFC 9112, section 6.3);</li>
 *   <li>a request whose headers have not all arrived {@code header-timeout} after its request
 *       line has its connection closed. (A request line that never ends is bounded by Helidon's
 *       {@code max-prologue-length} and its idle-connection timeout.)</li>
 * </ul>
 * The callbacks of a connection run on that connection's own thread, so closing it means
 * interrupting that thread, which closes a socket blocked in a read.
 */
final class HttpFraming implements Http1ConnectionListener, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HttpFraming.class.getName());

    private final long headerTimeoutNanos;
    /** Connections whose request line arrived and whose headers have not yet. */
    private final Map<ConnectionContext, Head> reading = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper;

    /** A request head being read: on which thread, since when ({@link System#nanoTime}). */
    private record Head(Thread thread, long since) {
    }

    HttpFraming(Duration headerTimeout) {
        this.headerTimeoutNanos = headerTimeout.toNanos();
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tandem-http-header-timeout");
            t.setDaemon(true);
            return t;
        });
        long period = Math.max(100, headerTimeout.toMillis() / 4);
        sweeper.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        reading.put(ctx, new Head(Thread.currentThread(), System.nanoTime()));
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        reading.remove(ctx);
        check(headers);
    }

    /**
     * Refuses ambiguous framing.
     *
     * @throws RequestException 400, closing the connection
     */
    static void check(Headers headers) {
        boolean length = headers.contains(HeaderNames.CONTENT_LENGTH);
        boolean transfer = headers.contains(HeaderNames.TRANSFER_ENCODING);
        if (length && transfer) {
            throw refuse("both Content-Length and Transfer-Encoding");
        }
        if (length) {
            List<String> values = headers.get(HeaderNames.CONTENT_LENGTH).allValues();
            if (values.size() != 1 || !values.getFirst().trim().matches("[0-9]{1,18}")) {
                throw refuse("Content-Length must be given once, as a number");
            }
        }
        if (transfer) {
            List<String> values = headers.get(HeaderNames.TRANSFER_ENCODING).allValues();
            if (values.size() != 1 || !values.getFirst().trim().toLowerCase(Locale.ROOT).equals("chunked")) {
                throw refuse("the only Transfer-Encoding accepted is chunked");
            }
        }
    }

    private static RequestException refuse(String why) {
        return RequestException.builder()
                .type(io.helidon.http.DirectHandler.EventType.BAD_REQUEST)
                .status(Status.BAD_REQUEST_400)
                .message("ambiguous request framing: " + why)
                .setKeepAlive(false)
                .build();
    }

    /** Closes the connections whose headers are overdue. */
    private void sweep() {
        long now = System.nanoTime();
        reading.forEach((ctx, head) -> {
            if (now - head.since() > headerTimeoutNanos && reading.remove(ctx, head)) {
                LOG.log(System.Logger.Level.DEBUG, () -> "closing a connection from " + ctx.remotePeer().host()
                        + ": its request headers took longer than " + Duration.ofNanos(headerTimeoutNanos).toMillis()
                        + " ms");
                head.thread().interrupt();
            }
        });
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}
