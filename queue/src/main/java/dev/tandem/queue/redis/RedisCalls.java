package dev.tandem.queue.redis;

import java.util.function.Supplier;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.redisson.client.RedisException;

/**
 * How the adapters call Redis: a Redis failure becomes the protocol's transient error. Failures
 * are logged one line each; the first of a kind ({@code what}) in {@link #TRACE_EVERY} carries
 * its stack trace, so a burst of them (a connect storm on a starved node) does not fill the log
 * with the same trace.
 */
public final class RedisCalls {
    private static final System.Logger LOG = System.getLogger(RedisCalls.class.getName());
    /** How often a failure of one kind is logged with its stack trace. */
    static final java.time.Duration TRACE_EVERY = java.time.Duration.ofMinutes(1);
    private static final java.util.concurrent.ConcurrentHashMap<String, Long> LAST_TRACE =
            new java.util.concurrent.ConcurrentHashMap<>();

    private RedisCalls() {
    }

    /**
     * Runs {@code call}; a Redis failure is logged and thrown as {@link ProtocolException}
     * {@link ErrorCode#UNAVAILABLE} "{@code what} is unavailable, retry".
     */
    public static <T> T call(String what, Supplier<T> call) {
        try {
            return call.get();
        } catch (RedisException e) {
            throw unavailable(what, e);
        }
    }

    /** The transient error for a failed Redis call, logged. */
    public static ProtocolException unavailable(String what, RuntimeException cause) {
        long now = System.nanoTime();
        Long last = LAST_TRACE.get(what);
        boolean trace = last == null ? LAST_TRACE.putIfAbsent(what, now) == null
                : now - last >= TRACE_EVERY.toNanos() && LAST_TRACE.replace(what, last, now);
        if (trace) {
            LOG.log(System.Logger.Level.WARNING, "Redis call failed (" + what + ")", cause);
        } else {
            LOG.log(System.Logger.Level.WARNING, "Redis call failed (" + what + "): "
                    + dev.tandem.telemetry.LogText.safe(String.valueOf(cause)));
        }
        return new ProtocolException(ErrorCode.UNAVAILABLE, what + " is unavailable, retry");
    }
}
