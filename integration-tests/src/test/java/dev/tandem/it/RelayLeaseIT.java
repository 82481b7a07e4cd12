package dev.tandem.it;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.testing.TestServices;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault (e): the node holding the outbox relay lease is killed (SIGKILL) while document changes
 * flow through both nodes. The other node takes the lease over and every accepted change
 * reaches {@code tandem.changes.out}, in order per document.
 */
class RelayLeaseIT {
    @Test
    void anotherNodeTakesOverTheRelayAndEveryAcceptedChangeIsRelayedInOrder() throws Exception {
        String run = Cluster.run();
        String t = "lease" + run;
        Map<String, String> config = Cluster.shared(run);
        GatewayProcess a = GatewayProcess.start("lease-a", config);
        GatewayProcess b = GatewayProcess.start("lease-b", config);
        List<GatewayProcess> live = new CopyOnWriteArrayList<>(List.of(a, b));
        try {
            Traffic traffic = new Traffic(t, () -> live).documents(6, 8);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            Optional<String> holder;
            while ((holder = holder(run)).filter(h -> h.startsWith("lease-")).isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "some node took the relay lease");
                Thread.sleep(200);
            }
            Thread.sleep(1000);
            GatewayProcess doomed = holder.get().startsWith("lease-a/") ? a : b;
            GatewayProcess survivor = doomed == a ? b : a;
            live.remove(doomed);
            doomed.kill();
            long killed = System.nanoTime();
            deadline = killed + Duration.ofSeconds(60).toNanos();
            while (!holder(run).filter(h -> h.startsWith(survivor.name() + "/")).isPresent()) {
                assertTrue(System.nanoTime() < deadline, "the survivor took the lease over within 60 s; holder "
                        + holder(run));
                Thread.sleep(200);
            }
            long takeOver = Duration.ofNanos(System.nanoTime() - killed).toMillis();
            Thread.sleep(2000);
            traffic.stop();
            assertTrue(traffic.errors.isEmpty(), "traffic errors: " + traffic.errors);
            OutTopic.awaitInOrder(Cluster.topicOut(run), t, traffic.versionsByDoc(), Duration.ofSeconds(60));
            System.out.println("relay lease holder SIGKILLed: " + survivor.name() + " took over after " + takeOver
                    + " ms; " + traffic.changes.size() + " accepted changes all relayed in order per document");
        } finally {
            a.close();
            b.close();
        }
    }

    private static Optional<String> holder(String run) throws Exception {
        try (Connection c = TestServices.postgres().connect(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT holder FROM it_" + run + ".outbox_lease WHERE name = 'relay'")) {
            return r.next() ? Optional.ofNullable(r.getString(1)) : Optional.empty();
        } catch (java.sql.SQLException e) {
            return Optional.empty(); // the schema is not there yet
        }
    }
}
