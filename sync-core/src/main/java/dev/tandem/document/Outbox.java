package dev.tandem.document;

import java.time.Duration;
import java.util.List;

/**
 * The transactional outbox of the documents, read by relays (Kafka, webhooks): rows a
 * {@link Documents} store writes in the same database transaction as each accepted change, each
 * a complete CloudEvent keyed by tenant + document. Implemented by the document store (conflict
 * module).
 */
public interface Outbox {

    /**
     * One outbox row.
     *
     * @param id    increasing (not necessarily in commit order across documents)
     * @param key   the Kafka key: tenant/type/id, so one document's changes share a partition
     * @param value the CloudEvent, structured JSON
     */
    record Entry(long id, String key, byte[] value) {
    }

    /**
     * Takes or renews the cluster-wide relay lease for {@code holder}. Only the holder relays, so
     * one document's rows (committed in version order, since writers of a document serialize on
     * its row) are sent in that order.
     *
     * @return true when {@code holder} holds the lease for {@code ttl} from now
     */
    boolean acquireLease(String holder, Duration ttl);

    /** Rows not relayed yet, oldest id first; rows that become visible late are still found. */
    List<Entry> unpublished(int max);

    /** Marks rows as relayed. */
    void markPublished(List<Long> ids);

    /** How many rows wait to be relayed (the relay's lag). */
    long backlog();
}
