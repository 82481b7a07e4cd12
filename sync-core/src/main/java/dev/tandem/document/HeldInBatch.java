package dev.tandem.document;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The operations of one {@code sync} batch that were held ({@link OpResult.Held}), so that an
 * operation following one of them is held too, waiting for the same conflict. The store cannot
 * tell this itself: a held operation leaves no trace there. Used by one thread, for one batch.
 */
public final class HeldInBatch {
    private final Map<String, String> conflictOf = new HashMap<>();

    /**
     * The result of {@code op}: held when its predecessor was held earlier in this batch,
     * otherwise what {@code apply} answers.
     */
    public OpResult apply(DocOp op, Function<DocOp, OpResult> apply) {
        String waiting = op.afterOpId().map(conflictOf::get).orElse(null);
        OpResult result = waiting != null ? new OpResult.Held(op.opId(), waiting) : apply.apply(op);
        if (result instanceof OpResult.Held h) {
            conflictOf.put(h.opId(), h.conflictId());
        }
        return result;
    }
}
