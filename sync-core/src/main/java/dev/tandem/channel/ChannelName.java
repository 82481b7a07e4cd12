package dev.tandem.channel;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A channel name as clients write it, without a tenant: a namespace followed by zero or
 * more id segments separated by {@code :} ({@code tenant}, {@code user:bob},
 * {@code location:wh-7}, {@code doc:stock_level:A-1@wh-7}).
 *
 * <p>Namespaces are lower-case words; id segments use letters, digits and {@code _ . @ ~ -}
 * and are at most 128 characters. A name alone never grants anything: {@link ChannelRules}
 * decides whether it is valid for a namespace and usable by a principal, and only then scopes
 * it to the principal's tenant as a {@link ChannelKey}.
 *
 * @param namespace the namespace, e.g. {@code location}
 * @param segments  the id segments after the namespace (possibly none)
 */
public record ChannelName(String namespace, List<String> segments) {
    /** Longest accepted channel name, in characters. */
    public static final int MAX_LENGTH = 256;

    private static final Pattern NAMESPACE = Pattern.compile("[a-z][a-z0-9_-]{0,31}");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_.@~-]{1,128}");

    /** Validates and copies the fields. */
    public ChannelName {
        Objects.requireNonNull(namespace, "namespace");
        segments = List.copyOf(segments);
        if (!NAMESPACE.matcher(namespace).matches()) {
            throw new IllegalArgumentException("invalid namespace");
        }
        for (String s : segments) {
            if (!SEGMENT.matcher(s).matches()) {
                throw new IllegalArgumentException("invalid id segment");
            }
        }
    }

    /** Parses a client-written name; empty if it is not well formed. */
    public static Optional<ChannelName> parse(String name) {
        if (name == null || name.isEmpty() || name.length() > MAX_LENGTH) {
            return Optional.empty();
        }
        String[] parts = name.split(":", -1);
        if (!NAMESPACE.matcher(parts[0]).matches()) {
            return Optional.empty();
        }
        for (int i = 1; i < parts.length; i++) {
            if (!SEGMENT.matcher(parts[i]).matches()) {
                return Optional.empty();
            }
        }
        return Optional.of(new ChannelName(parts[0], List.of(parts).subList(1, parts.length)));
    }

    /** Whether a string is a valid id segment (also used for tenant and user ids). */
    public static boolean isValidId(String id) {
        return id != null && SEGMENT.matcher(id).matches();
    }

    /** The id segments joined with {@code :} ({@code ""} for {@code tenant}). */
    public String id() {
        return String.join(":", segments);
    }

    /** The name as clients write it. */
    @Override
    public String toString() {
        return segments.isEmpty() ? namespace : namespace + ":" + id();
    }
}
