package dev.tandem.operations;

import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * How every operation of the layer answers: its body is {@link Result.Ok}, a
 * {@link ProtocolException} its {@link Result.Failed} (counted), anything else is logged with
 * its context (tenant, user, operation) and answered {@code internal}: failures are answered,
 * never thrown at a transport.
 */
final class Answers {
    private static final System.Logger LOG = System.getLogger(Answers.class.getName());

    private Answers() {
    }

    static Result answer(Telemetry telemetry, Principal who, String op, Supplier<ObjectNode> work) {
        try {
            return new Result.Ok(work.get());
        } catch (RuntimeException e) {
            return failed(telemetry, who, op, e);
        }
    }

    /** The answer of an operation that failed with {@code e}. */
    static Result.Failed failed(Telemetry telemetry, Principal who, String op, RuntimeException e) {
        if (e instanceof ProtocolException p) {
            telemetry.error(p.code());
            return Result.failed(p);
        }
        LOG.log(System.Logger.Level.ERROR, "tenant " + who.tenant() + " user " + who.user() + ": " + op + " failed",
                LogText.scrub(e));
        telemetry.error(ErrorCode.INTERNAL);
        return new Result.Failed(ErrorCode.INTERNAL, "internal error; see the server log");
    }
}
