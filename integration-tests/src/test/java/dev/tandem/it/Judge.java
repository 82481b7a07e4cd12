package dev.tandem.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import dev.tandem.harness.TrafficClient;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Judges a fault from the clients' side, after they resumed. */
final class Judge {
    private Judge() {
    }

    /** Waits until every client handed on every one of {@code eventIds} on {@code channel}. */
    static void awaitAll(Collection<TrafficClient> clients, String channel, Collection<String> eventIds, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> missing = missing(clients, channel, eventIds);
            if (missing.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("not every acknowledged publication on " + channel + " reached every client within " + timeout
                        + ": " + missing.size() + " clients miss some, e.g. " + missing.subList(0, Math.min(3, missing.size())));
            }
            Thread.sleep(250);
        }
    }

    private static List<String> missing(Collection<TrafficClient> clients, String channel, Collection<String> eventIds) {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (TrafficClient c : clients) {
            Set<String> got = new HashSet<>(c.view(channel).eventIds());
            List<String> lacks = eventIds.stream().filter(id -> !got.contains(id)).toList();
            if (!lacks.isEmpty()) {
                out.add("client " + i + " (node " + c.node() + ", " + got.size() + " received) lacks " + lacks.size()
                        + " e.g. " + lacks.subList(0, Math.min(5, lacks.size())));
            }
            i++;
        }
        return out;
    }

    /**
     * Every client handed each event id on {@code channel} at most once, offsets without silent
     * gaps, and (when {@code mustRecover}) no recovery refused.
     */
    static void onceInOrder(Collection<TrafficClient> clients, String channel, boolean mustRecover) {
        int i = 0;
        for (TrafficClient c : clients) {
            TrafficClient.View v = c.view(channel);
            assertEquals(new HashSet<>(v.eventIds()).size(), v.eventIds().size(),
                    "client " + i + " on " + channel + ": an event handed on twice past de-duplication by offset");
            assertTrue(v.silentGaps().isEmpty(), "client " + i + " on " + channel + ": silent gaps " + v.silentGaps());
            if (mustRecover) {
                assertEquals(0, v.recoveryRefused(), "client " + i + " on " + channel + ": recovery refused");
            }
            assertTrue(c.problems().isEmpty(), "client " + i + ": " + c.problems());
            i++;
        }
    }
}
