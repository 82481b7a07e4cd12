package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.PostgresServer;
import dev.tandem.harness.Tokens;
import dev.tandem.testing.TestServices;
import dev.tandem.testing.WsProbe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault (d): the database (a private PostgreSQL) is stopped for a few seconds and started again
 * while clients keep sending {@code doc.update}s and a backend keeps syncing. While it is down
 * updates answer {@code unavailable} and readiness is DOWN with the {@code database} check;
 * nothing accepted is lost, and the outbox drains to {@code tandem.changes.out} afterwards, in
 * order per document.
 */
class PostgresRestartIT {
    @Test
    void updatesAnswerUnavailableWhileTheDatabaseIsDownAndNothingAcceptedIsLost() throws Exception {
        String run = Cluster.run();
        String t = "pg" + run;
        try (PostgresServer pg = PostgresServer.start("restart")) {
            // a pool that gives up on a missing database within 2 s (Hikari's default is 30 s, longer
            // than a health probe or a client waits)
            Map<String, String> config = Cluster.with(Cluster.config(run, TestServices.redis(), pg.jdbcUrl(), "postgres", ""),
                    "tandem.db.pool.connectionTimeout", "2000");
            try (GatewayProcess a = GatewayProcess.start("pg-restart-a", config);
                 GatewayProcess b = GatewayProcess.start("pg-restart-b", config);
                 WsProbe writer = WsProbe.connect(a.ws(), Tokens.token("alice", t, Tokens.ALL))) {
                Traffic backend = new Traffic(t, () -> List.of(a, b)).documents(4, 4);
                AtomicBoolean writing = new AtomicBoolean(true);
                AtomicInteger wsUnavailable = new AtomicInteger();
                List<String> wsErrors = new CopyOnWriteArrayList<>();
                Map<String, List<Long>> wsAccepted = new LinkedHashMap<>();
                Thread client = Thread.ofVirtual().start(() -> {
                    long version = 0;
                    for (int n = 1; writing.get(); n++) {
                        String op = version == 0
                                ? "\"baseVersion\":0,\"opId\":\"alice:" + n + "\",\"data\":{\"n\":" + n + "}"
                                : "\"baseVersion\":" + version + ",\"opId\":\"alice:" + n + "\",\"patch\":{\"set\":{\"n\":" + n + "}}";
                        while (true) {
                            try {
                                JsonNode r = writer.request(100 + n, "{\"op\":\"doc.update\",\"id\":" + (100 + n)
                                        + ",\"docType\":\"note\",\"docId\":\"ws-1\"," + op + "}");
                                if (r.path("op").asText().equals("error") && r.path("code").asText().equals("unavailable")) {
                                    wsUnavailable.incrementAndGet();
                                    Thread.sleep(200);
                                    continue; // the same op again (same opId)
                                }
                                String result = r.path("result").asText();
                                if (result.equals("applied") || result.equals("duplicate")) {
                                    version = r.path("version").asLong();
                                    wsAccepted.computeIfAbsent("ws-1", k -> new ArrayList<>()).add(version);
                                } else {
                                    wsErrors.add(r.toString());
                                }
                                Thread.sleep(150);
                                break;
                            } catch (InterruptedException e) {
                                return;
                            } catch (AssertionError e) {
                                wsErrors.add("no answer: " + e.getMessage());
                                break;
                            }
                        }
                    }
                });
                Thread.sleep(2000);
                pg.stop();
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!Health.down(a.health("/health/ready"), "database")) {
                    assertTrue(System.nanoTime() < deadline, "readiness DOWN while the database is down: "
                            + a.health("/health/ready"));
                    Thread.sleep(100);
                }
                Thread.sleep(3000);
                assertTrue(wsUnavailable.get() > 0, "doc.update answered unavailable while the database was down");
                pg.begin();
                a.awaitReady(Duration.ofSeconds(30));
                b.awaitReady(Duration.ofSeconds(30));
                Thread.sleep(2000);
                writing.set(false);
                client.join(Duration.ofSeconds(30));
                backend.stop();
                assertTrue(wsErrors.isEmpty(), "client errors: " + wsErrors);
                assertTrue(backend.errors.isEmpty(), "backend errors: " + backend.errors);
                assertTrue(wsAccepted.get("ws-1").size() > 5 && backend.changes.size() > 5, "changes flowed");
                NodeKillIT.checkDocuments(b, t, backend);
                JsonNode doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(b.get("/api/v1/documents/note/ws-1",
                        java.util.Optional.of(Tokens.service(t))).body());
                assertEquals((long) wsAccepted.get("ws-1").getLast(),
                        doc.path("version").asLong(doc.path("document").path("version").asLong()), doc.toString());
                Map<String, List<Long>> all = new LinkedHashMap<>(backend.versionsByDoc());
                all.putAll(wsAccepted);
                OutTopic.awaitInOrder(Cluster.topicOut(run), t, all, Duration.ofSeconds(60));
                System.out.println("PostgreSQL restart: " + wsUnavailable.get() + " doc.update answers unavailable, "
                        + backend.unavailableAnswers.get() + " REST sync answers unavailable; "
                        + (wsAccepted.get("ws-1").size() + backend.changes.size()) + " changes accepted, all relayed");
            }
        }
    }
}
