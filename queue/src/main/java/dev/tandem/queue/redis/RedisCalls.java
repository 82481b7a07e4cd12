package dev.tandem.queue.redis;

import java.util.function.Supplier;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.redisson.client.RedisException;

/** How the adapters call Redis: a Redis failure becomes the protocol's transient error. */
public final class RedisCalls {
    private static final System.Logger LOG = System.getLogger(RedisCalls.class.getName());

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
        LOG.log(System.Logger.Level.WARNING, "Redis call failed (" + what + ")", cause);
        return new ProtocolException(ErrorCode.UNAVAILABLE, what + " is unavailable, retry");
    }
}
