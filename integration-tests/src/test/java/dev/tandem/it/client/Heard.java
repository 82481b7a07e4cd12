package dev.tandem.it.client;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

import dev.tandem.client.ConflictRecord;
import dev.tandem.client.Documents;
import dev.tandem.client.QueuedOp;

/** Every status report and every conflict an application heard from a client's documents. */
final class Heard implements Documents.Listener {
    final BlockingQueue<QueuedOp> ops = new LinkedBlockingQueue<>();
    final BlockingQueue<ConflictRecord> conflicts = new LinkedBlockingQueue<>();

    @Override
    public void op(QueuedOp op) {
        ops.add(op);
    }

    @Override
    public void conflict(ConflictRecord conflict) {
        conflicts.add(conflict);
    }

    /** The reports about one operation, in order. */
    List<QueuedOp> of(String opId) {
        return ops.stream().filter(o -> o.opId().equals(opId)).toList();
    }

    /** The statuses one operation went through, in order. */
    List<String> statuses(String opId) {
        return of(opId).stream().map(o -> o.status().wire()).toList();
    }
}
