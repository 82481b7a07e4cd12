package dev.tandem.gateway;

import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The one allow-list of browser origins ({@code tandem.origins}) that governs every transport: the
 * WebSocket upgrade, the SSE stream and its POSTs, and the REST API (answered with CORS headers).
 * An empty list, or {@code "*"}, allows any origin; otherwise an origin is allowed when it is
 * listed exactly, or when it is the node's own (a page the node serves itself, such as the demo
 * board, whose origin's host and port are the request's {@code Host}).
 */
final class Origins {
    private final Set<String> allowed;

    Origins(Set<String> allowed) {
        this.allowed = allowed.stream().map(Origins::normalize).collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    /** Whether a request from {@code origin} to a node reached as {@code host} may go on. */
    boolean allows(String origin, Optional<String> host) {
        if (allowed.isEmpty() || allowed.contains("*")) {
            return true;
        }
        if (allowed.contains(normalize(origin))) {
            return true;
        }
        return host.isPresent() && authority(origin).map(a -> a.equalsIgnoreCase(host.get().trim())).orElse(false);
    }

    /** Whether any origin is allowed (no list configured). */
    boolean any() {
        return allowed.isEmpty() || allowed.contains("*");
    }

    private static String normalize(String origin) {
        String o = origin.trim().toLowerCase(Locale.ROOT);
        return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
    }

    /** {@code host:port} of an origin as a Host header names it (the port left out when default). */
    private static Optional<String> authority(String origin) {
        try {
            URI u = URI.create(origin.trim());
            if (u.getHost() == null) {
                return Optional.empty();
            }
            return Optional.of(u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort());
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
