package dev.tandem.session;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.hub.Publication;

/**
 * Which namespaces batch their publications ({@code batch-max-delay}, {@code batch-max-size}),
 * looked up once per delivery by the connection's {@link Outbound}. With no batching namespace
 * (the default) the lookup is a field read.
 */
final class Batching {
    /** No namespace batches. */
    static final Batching NONE = new Batching(Map.of());

    private final Map<String, Namespace.Batch> byNamespace;
    private final boolean any;

    private Batching(Map<String, Namespace.Batch> byNamespace) {
        this.byNamespace = Map.copyOf(byNamespace);
        this.any = !byNamespace.isEmpty();
    }

    /** The batching namespaces of {@code rules}. */
    static Batching of(ChannelRules rules) {
        Map<String, Namespace.Batch> batches = new HashMap<>();
        for (Namespace ns : rules.namespaces()) {
            ns.batch().ifPresent(b -> batches.put(ns.name(), b));
        }
        return batches.isEmpty() ? NONE : new Batching(batches);
    }

    /** The batching of a publication's namespace, if it has one. */
    Optional<Namespace.Batch> of(Publication publication) {
        return any ? Optional.ofNullable(byNamespace.get(publication.channel().namespace())) : Optional.empty();
    }
}
