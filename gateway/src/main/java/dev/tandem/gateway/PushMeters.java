package dev.tandem.gateway;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import dev.tandem.push.PushMetrics;

import io.helidon.metrics.api.Counter;
import io.helidon.metrics.api.Gauge;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;

/**
 * Push metrics at {@code /metrics}: {@code tandem_push_sends_total{provider,outcome}} (each send
 * that ended or was put back for a retry; provider {@code webpush}, {@code fcm}, {@code apns} or
 * {@code none}) and {@code tandem_push_queue} (rows waiting, counted when scraped).
 */
final class PushMeters implements PushMetrics {
    /** What the gauge reads: the newest gateway of the process installs its queue (meters outlive a gateway). */
    private static volatile LongSupplier backlog = () -> 0;

    private final MeterRegistry registry = Metrics.globalRegistry();
    private final Map<String, Counter> sends = new ConcurrentHashMap<>();

    private PushMeters() {
    }

    static PushMeters create(LongSupplier queue) {
        backlog = queue;
        PushMeters m = new PushMeters();
        m.registry.getOrCreate(Gauge.builder("tandem.push.queue", () -> {
            try {
                return backlog.getAsLong();
            } catch (RuntimeException e) {
                return -1L; // the database is away: the readiness check says so
            }
        }).description("Push sends waiting in the queue"));
        return m;
    }

    @Override
    public void sent(String provider, String outcome) {
        sends.computeIfAbsent(provider + "/" + outcome, k -> registry.getOrCreate(Counter.builder("tandem.push.sends")
                .description("Push sends by provider and outcome").tags(Metrics.tags("provider", provider, "outcome", outcome)))).increment();
    }
}
