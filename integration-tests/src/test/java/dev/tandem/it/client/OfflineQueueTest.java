package dev.tandem.it.client;

import java.util.Map;

/** The offline queue against a standalone gateway: documents in H2, history and inboxes in memory. */
class OfflineQueueTest extends OfflineQueueContract {
    @Override
    Map<String, String> backends() {
        return Map.of("tandem.documents.db.url", "jdbc:h2:mem:client-offline-queue;DB_CLOSE_DELAY=-1");
    }
}
