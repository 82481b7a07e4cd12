package dev.tandem.conflict;

import java.sql.SQLException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.tandem.document.Written;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.dbclient.DbClient;
import io.helidon.dbclient.DbTransaction;

/**
 * How the store runs work against the database: one transaction per attempt, always ended
 * (committed when the work returns, rolled back when it throws); attempts that collide with a
 * concurrent writer run again after a jittered pause, up to {@code max-attempts}; everything
 * else becomes {@code UNAVAILABLE} for the caller, logged once with its cause.
 */
final class Transactions {
    private static final System.Logger LOGGER = System.getLogger(Transactions.class.getName());

    private final DbClient db;
    private final int maxAttempts;

    Transactions(DbClient db, int maxAttempts) {
        this.db = db;
        this.maxAttempts = maxAttempts;
    }

    /** A collision with a concurrent writer found by the work itself: run it again. */
    static final class Retry extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Retry(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Runs the work in transactions until one commits without colliding, with jittered backoff.
     *
     * @param what names the work in the log when it gives up (no client input in it)
     */
    <T> Written<T> retrying(String what, Function<DbTransaction, Written<T>> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return once(work);
            } catch (Verdicts.Unjudged e) {
                throw e; // rolled back: the guard is asked outside the transaction
            } catch (RuntimeException e) {
                if (!(e instanceof Retry) && !collision(e)) {
                    throw translate(e);
                }
                if (attempt >= maxAttempts) {
                    LOGGER.log(System.Logger.Level.WARNING, what + " still collides after " + attempt + " attempts",
                            dev.tandem.telemetry.LogText.scrub(e));
                    throw new ProtocolException(ErrorCode.UNAVAILABLE, "the document is busy; retry later");
                }
                backoff(attempt);
            }
        }
    }

    /** One transaction, always ended: committed when the work returns, rolled back when it throws. */
    <T> Written<T> once(Function<DbTransaction, Written<T>> work) {
        DbTransaction tx = db.transaction();
        Written<T> result;
        try {
            result = work.apply(tx);
        } catch (RuntimeException e) {
            try {
                tx.rollback();
            } catch (RuntimeException r) {
                e.addSuppressed(r);
            }
            throw e;
        }
        // a failed commit has already closed the transaction: nothing to roll back
        tx.commit();
        return result;
    }

    /** A read (or a statement outside a transaction) whose failures become {@code UNAVAILABLE}. */
    static <T> T guarded(Supplier<T> read) {
        try {
            return read.get();
        } catch (RuntimeException e) {
            throw translate(e);
        }
    }

    private static void backoff(int attempt) {
        long max = Math.min(50, 1L << Math.min(attempt, 5));
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(1, max + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "interrupted");
        }
    }

    /** Whether the failure is a collision with a concurrent transaction, worth running again. */
    private static boolean collision(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && s.getSQLState() != null) {
                String state = s.getSQLState();
                // unique violation (a concurrent create/insert), serialization failure, deadlock,
                // lock not available (PostgreSQL), lock timeout and concurrent update (H2)
                if (state.equals("23505") || state.equals("40001") || state.equals("40P01") || state.equals("55P03")
                        || state.equals("HYT00") || state.equals("90131")) {
                    return true;
                }
            }
        }
        return false;
    }

    private static RuntimeException translate(RuntimeException e) {
        if (e instanceof ProtocolException) {
            return e;
        }
        LOGGER.log(System.Logger.Level.WARNING, "document store failure", dev.tandem.telemetry.LogText.scrub(e));
        return new ProtocolException(ErrorCode.UNAVAILABLE, "the document store is not available");
    }
}
