package dev.tandem.conflict;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import dev.tandem.document.Strategy;

import io.helidon.config.Config;

/**
 * The policies of every document type, read once from the {@code types} node:
 * {@code types.default} overrides the built-in {@link Policy#DEFAULT} and applies to every type
 * not listed; each listed type starts from that default and overrides what it names
 * ({@code merge}, {@code strategy}, {@code counters}, {@code invariants}, {@code channels}).
 * A bad value fails at start, not at the first update.
 */
final class Policies {
    private final Policy fallback;
    private final Map<String, Policy> byType;

    private Policies(Policy fallback, Map<String, Policy> byType) {
        this.fallback = fallback;
        this.byType = Map.copyOf(byType);
    }

    static Policies create(Config types) {
        Policy fallback = read(types.get("default"), Policy.DEFAULT, "default");
        Map<String, Policy> byType = new HashMap<>();
        for (Config node : types.asNodeList().orElse(List.of())) {
            if (!node.name().equals("default")) {
                byType.put(node.name(), read(node, fallback, node.name()));
            }
        }
        return new Policies(fallback, byType);
    }

    /** The policy of a type (the default one for types nobody configured). */
    Policy of(String type) {
        return byType.getOrDefault(type, fallback);
    }

    private static Policy read(Config node, Policy base, String type) {
        if (!node.exists()) {
            return base;
        }
        try {
            boolean merge = node.get("merge").asBoolean().orElse(base.merge());
            Strategy strategy = node.get("strategy").asString()
                    .map(s -> Strategy.fromWire(s).filter(x -> x != Strategy.MERGE).orElseThrow(() ->
                            new IllegalArgumentException("strategy must be last-write-wins, server-wins, client-wins or manual, not '" + s + "'")))
                    .orElse(base.strategy());
            var counters = node.get("counters").asList(String.class).map(HashSet::new).orElse(new HashSet<>(base.counters()));
            var invariants = node.get("invariants").asList(String.class)
                    .map(l -> l.stream().map(Invariant::parse).toList())
                    .orElse(base.invariants());
            var channels = node.get("channels").asList(String.class).orElse(base.channels());
            return new Policy(merge, strategy, counters, invariants, channels);
        } catch (IllegalArgumentException | io.helidon.config.ConfigException e) {
            throw new IllegalArgumentException("document type '" + type + "': " + e.getMessage(), e);
        }
    }
}
