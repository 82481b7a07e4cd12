package dev.tandem.channel;

import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import dev.tandem.auth.Principal;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.config.Config;

/**
 * The channel namespaces of a node and the decision whether a principal may use a channel.
 * This is the only place where client-written names become {@link ChannelKey}s, always in
 * the principal's own tenant, so a client cannot even name another tenant's channel.
 *
 * <p>Built-in namespaces (each can be changed, and new ones added, under
 * {@code tandem.channels.namespaces.NAME} with keys {@code segments}, {@code subscribe},
 * {@code publish}, {@code ephemeral-only}, {@code presence}, {@code join-leave},
 * {@code history-size}, {@code history-ttl}, {@code batch-max-delay} with {@code batch-max-size}
 * for hot channels, off unless {@code batch-max-delay} is set, and {@code delta}: the delta
 * formats subscriptions may ask for, a list such as {@code [fossil]}, on by default for
 * {@code tenant}, {@code location} and {@code doc}):
 * <table>
 *   <caption>defaults</caption>
 *   <tr><th>name</th><th>subscribe</th><th>publish</th><th>notes</th></tr>
 *   <tr><td>{@code tenant}</td><td>any</td><td>none</td><td>tenant-wide broadcasts</td></tr>
 *   <tr><td>{@code user:{id}}</td><td>self</td><td>none</td><td>inbox, history 24 h, presence (whether the user is connected: push waits for it)</td></tr>
 *   <tr><td>{@code location:{id}}</td><td>claim:locations</td><td>none</td><td></td></tr>
 *   <tr><td>{@code workspace:{id}}</td><td>claim:workspaces</td><td>claim:workspaces</td><td>presence</td></tr>
 *   <tr><td>{@code project:{id}}</td><td>claim:projects</td><td>claim:projects</td><td>presence</td></tr>
 *   <tr><td>{@code doc:{type}:{id}}</td><td>any</td><td>any, ephemeral only</td><td>presence</td></tr>
 * </table>
 */
public final class ChannelRules {
    /** What a principal wants to do with a channel. */
    public enum Action {
        /** Subscribe to its events. */
        SUBSCRIBE,
        /** Publish from a client connection. */
        PUBLISH
    }

    private static final Duration HOUR = Duration.ofHours(1);

    private final Map<String, Namespace> namespaces;
    /**
     * Per namespace, the one name of a namespace without id segments ({@code tenant}), and the
     * namespace's own name string: every connection's key for such a channel shares them instead
     * of holding the copies parsed from its own request.
     */
    private final Map<String, ChannelName> names;

    private ChannelRules(Map<String, Namespace> namespaces) {
        this.namespaces = Map.copyOf(namespaces);
        Map<String, ChannelName> n = new HashMap<>();
        namespaces.forEach((name, ns) -> n.put(name, new ChannelName(name, List.of())));
        this.names = Map.copyOf(n);
    }

    /** The built-in namespaces with their default rules. */
    public static Map<String, Namespace> defaults() {
        Map<String, Namespace> d = new LinkedHashMap<>();
        Set<String> fossil = Set.of(Namespace.FOSSIL);
        d.put("tenant", new Namespace("tenant", 0, new Access.Any(), new Access.None(), false, false, false, 100, HOUR,
                Optional.empty(), fossil));
        d.put("user", new Namespace("user", 1, new Access.Self(), new Access.None(), false, true, false, 1000,
                Duration.ofHours(24)));
        d.put("location", new Namespace("location", 1, new Access.Claim("locations"), new Access.None(), false, false,
                false, 100, HOUR, Optional.empty(), fossil));
        d.put("workspace", new Namespace("workspace", 1, new Access.Claim("workspaces"),
                new Access.Claim("workspaces"), false, true, true, 100, HOUR));
        d.put("project", new Namespace("project", 1, new Access.Claim("projects"), new Access.Claim("projects"),
                false, true, true, 100, HOUR));
        d.put("doc", new Namespace("doc", 2, new Access.Any(), new Access.Any(), true, true, true, 100, HOUR,
                Optional.empty(), fossil));
        return d;
    }

    /** Rules with the built-in defaults only. */
    public static ChannelRules create() {
        return new ChannelRules(defaults());
    }

    /**
     * Rules from the {@code tandem.channels} configuration node, on top of the defaults.
     *
     * @throws IllegalArgumentException for an invalid rule, naming the namespace and key
     */
    public static ChannelRules create(Config channels) {
        Map<String, Namespace> result = new LinkedHashMap<>(defaults());
        for (Config node : channels.get("namespaces").asNodeList().orElse(java.util.List.of())) {
            String name = node.name();
            String prefix = "tandem.channels.namespaces." + name;
            Optional<Namespace> base = Optional.ofNullable(result.get(name));
            try {
                result.put(name, new Namespace(name,
                        read(prefix, node, "segments", c -> c.asInt().asOptional())
                                .orElse(base.map(Namespace::segments).orElse(1)),
                        read(prefix, node, "subscribe", c -> c.asString().asOptional().map(Access::parse))
                                .orElse(base.map(Namespace::subscribe).orElse(new Access.Any())),
                        read(prefix, node, "publish", c -> c.asString().asOptional().map(Access::parse))
                                .orElse(base.map(Namespace::publish).orElse(new Access.None())),
                        read(prefix, node, "ephemeral-only", ChannelRules::bool)
                                .orElse(base.map(Namespace::ephemeralOnly).orElse(false)),
                        read(prefix, node, "presence", ChannelRules::bool)
                                .orElse(base.map(Namespace::presence).orElse(false)),
                        read(prefix, node, "join-leave", ChannelRules::bool)
                                .orElse(base.map(Namespace::joinLeave).orElse(false)),
                        read(prefix, node, "history-size", c -> c.asInt().asOptional())
                                .orElse(base.map(Namespace::historySize).orElse(100)),
                        read(prefix, node, "history-ttl", c -> c.as(Duration.class).asOptional())
                                .orElse(base.map(Namespace::historyTtl).orElse(HOUR)),
                        batch(prefix, node, base.flatMap(Namespace::batch)),
                        read(prefix, node, "delta", ChannelRules::formats)
                                .orElse(base.map(Namespace::delta).orElse(Set.of()))));
            } catch (IllegalArgumentException e) {
                if (e.getMessage() != null && e.getMessage().startsWith(prefix)) {
                    throw e;
                }
                throw new IllegalArgumentException(prefix + ": " + e.getMessage(), e);
            }
        }
        return new ChannelRules(result);
    }

    /** Frames a batch holds before it is written without waiting, when only the delay is set. */
    static final int DEFAULT_BATCH_MAX_SIZE = 64;

    /**
     * A namespace's batching: on when {@code batch-max-delay} is set ({@code PT0S} switches an
     * inherited one off), with {@code batch-max-size} (default {@value #DEFAULT_BATCH_MAX_SIZE}).
     */
    private static Optional<Namespace.Batch> batch(String prefix, Config node, Optional<Namespace.Batch> base) {
        Optional<Duration> delay = read(prefix, node, "batch-max-delay", c -> c.as(Duration.class).asOptional());
        Optional<Integer> size = read(prefix, node, "batch-max-size", c -> c.asInt().asOptional());
        if (delay.isPresent() && delay.get().isZero()) {
            return Optional.empty();
        }
        if (delay.isEmpty() && base.isEmpty()) {
            if (size.isPresent()) {
                throw new IllegalArgumentException(prefix + ".batch-max-size: needs batch-max-delay");
            }
            return Optional.empty();
        }
        return Optional.of(new Namespace.Batch(delay.orElseGet(() -> base.get().maxDelay()),
                size.orElse(base.map(Namespace.Batch::maxSize).orElse(DEFAULT_BATCH_MAX_SIZE))));
    }

    /** Reads one key of a namespace node; a value that does not parse is an error naming the key. */
    private static <T> Optional<T> read(String prefix, Config node, String key, Function<Config, Optional<T>> reader) {
        try {
            return reader.apply(node.get(key));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(prefix + "." + key + ": " + e.getMessage(), e);
        }
    }

    /** A list of delta formats ({@code [fossil]}, or {@code []} for none); a single name counts as a list of one. */
    private static Optional<Set<String>> formats(Config value) {
        if (!value.exists()) {
            return Optional.empty();
        }
        if (value.isLeaf()) {
            String text = value.asString().orElse("").trim();
            return Optional.of(text.isEmpty() || text.equals("[]") ? Set.of() : Set.of(text));
        }
        return Optional.of(Set.copyOf(value.asList(String.class).get()));
    }

    /**
     * A boolean in one of the forms Helidon reads as true ({@code true 1 yes y on}) or their
     * opposites; anything else is an error (Helidon alone would read a typo such as {@code ture}
     * as false and silently switch the feature off).
     */
    private static Optional<Boolean> bool(Config value) {
        return value.asString().asOptional().map(text -> switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "true", "1", "yes", "y", "on" -> true;
            case "false", "0", "no", "n", "off" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is not true or false");
        });
    }

    /** Every namespace's rules. */
    public java.util.Collection<Namespace> namespaces() {
        return namespaces.values();
    }

    /** The namespace rules by name. */
    public Optional<Namespace> namespace(String name) {
        return Optional.ofNullable(namespaces.get(name));
    }

    /** The namespace of a key (which exists: keys are made only from known namespaces). */
    public Namespace namespaceOf(ChannelKey key) {
        Namespace ns = namespaces.get(key.namespace());
        if (ns == null) {
            throw new IllegalStateException("no namespace for " + key);
        }
        return ns;
    }

    /**
     * Resolves a client-written channel name for a principal and an action.
     *
     * @return the channel, scoped to the principal's tenant
     * @throws ProtocolException {@code UNKNOWN_CHANNEL} for a malformed name or unknown namespace,
     *                           {@code FORBIDDEN} when the namespace's rule refuses the principal
     */
    public ChannelKey authorize(Principal principal, String channel, Action action) {
        ChannelKey key = resolve(principal.tenant(), channel);
        Namespace ns = namespaceOf(key);
        Access access = action == Action.SUBSCRIBE ? ns.subscribe() : ns.publish();
        if (!access.allows(principal, key.name())) {
            throw new ProtocolException(ErrorCode.FORBIDDEN,
                    (action == Action.SUBSCRIBE ? "may not subscribe to " : "may not publish to ")
                            + key.name() + " (rule: " + access + ")");
        }
        return key;
    }

    /**
     * Resolves a channel name in a tenant without checking a principal's rights: for trusted
     * callers such as service tokens and Kafka events.
     *
     * @throws ProtocolException {@code UNKNOWN_CHANNEL} for a malformed name or unknown namespace
     */
    public ChannelKey resolve(String tenant, String channel) {
        ChannelName name = ChannelName.parse(channel).orElseThrow(() -> new ProtocolException(
                ErrorCode.UNKNOWN_CHANNEL, "malformed channel name '" + printable(channel) + "'"));
        Namespace ns = namespaces.get(name.namespace());
        if (ns == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_CHANNEL, "unknown namespace '" + name.namespace() + "'");
        }
        if (name.segments().size() != ns.segments()) {
            throw new ProtocolException(ErrorCode.UNKNOWN_CHANNEL, "channel names in '" + ns.name() + "' have "
                    + ns.segments() + " id segment(s): " + name);
        }
        ChannelName shared = names.get(name.namespace());
        return new ChannelKey(tenant, name.segments().isEmpty() ? shared
                : new ChannelName(shared.namespace(), name.segments()));
    }

    private static String printable(String s) {
        if (s == null) {
            return "";
        }
        String cut = s.length() > 64 ? s.substring(0, 64) + "…" : s;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }
}
