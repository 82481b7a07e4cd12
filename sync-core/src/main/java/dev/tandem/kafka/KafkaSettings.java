package dev.tandem.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.helidon.config.Config;

/**
 * The Kafka settings of a node, from the {@code tandem.kafka} configuration node; defaults
 * here. Kafka is on when {@code bootstrap-servers} is set.
 *
 * @param bootstrapServers {@code bootstrap-servers}
 * @param topicIn          {@code topic-in}, default {@code tandem.events.in}: domain events from backends
 * @param topicDeadLetter  {@code topic-dead-letter}, default {@code tandem.events.dlq}
 * @param topicOut         {@code topic-out}, default {@code tandem.changes.out}: accepted client changes
 * @param groupId          {@code group-id}, default {@code tandem-gateway}: one consumer group per cluster
 * @param retryBackoff     {@code retry-backoff}, default PT1S: pause before retrying an event that
 *                         failed for a transient reason (the partition is retried, never skipped)
 * @param routes           {@code routes}: list of {@code {type: "stock.*", channels: "location:{data.locationId}"}}
 * @param properties       {@code properties.*}: passed to the Kafka clients as is (security, timeouts…)
 */
public record KafkaSettings(String bootstrapServers, String topicIn, String topicDeadLetter, String topicOut,
                            String groupId,
                            Duration retryBackoff, List<Route> routes,
                            Map<String, String> properties) {
    /** Validates and copies the fields. */
    public KafkaSettings {
        routes = List.copyOf(routes);
        properties = Map.copyOf(properties);
    }

    /** The settings, or empty when {@code tandem.kafka.bootstrap-servers} is not set. */
    public static Optional<KafkaSettings> create(Config kafka) {
        Optional<String> bootstrap = kafka.get("bootstrap-servers").asString().asOptional()
                .filter(s -> !s.isBlank());
        if (bootstrap.isEmpty()) {
            return Optional.empty();
        }
        List<Route> routes = new ArrayList<>();
        for (Config r : kafka.get("routes").asNodeList().orElse(List.of())) {
            String type = r.get("type").asString().orElseThrow(() ->
                    new IllegalArgumentException("tandem.kafka.routes[" + r.name() + "].type is required"));
            List<String> templates = r.get("channels").asString().asOptional()
                    .map(v -> Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList())
                    .orElseGet(() -> r.get("channels").asList(String.class).orElse(List.of()));
            if (templates.isEmpty()) {
                throw new IllegalArgumentException("tandem.kafka.routes[" + r.name() + "].channels is required");
            }
            routes.add(new Route(type, templates));
        }
        Map<String, String> props = new LinkedHashMap<>();
        kafka.get("properties").detach().asMap().ifPresent(props::putAll);
        return Optional.of(new KafkaSettings(bootstrap.get(),
                kafka.get("topic-in").asString().orElse("tandem.events.in"),
                kafka.get("topic-dead-letter").asString().orElse("tandem.events.dlq"),
                kafka.get("topic-out").asString().orElse("tandem.changes.out"),
                kafka.get("group-id").asString().orElse("tandem-gateway"),
                kafka.get("retry-backoff").as(Duration.class).orElse(Duration.ofSeconds(1)),
                routes, props));
    }

    /** The channels the routing rules give an event type and payload (first matching rule). */
    List<Route> routesFor(String type) {
        return routes.stream().filter(r -> r.matches(type)).limit(1).toList();
    }
}
