package dev.tandem.push;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The hosts a Web Push endpoint may name, so that registering a device can never make the node
 * call an address of the registrant's choosing (an internal service, a cloud metadata address).
 * An endpoint passes when it is {@code https} on the default port with a host on the list, or,
 * only when loopback is allowed (development mode), an {@code http(s)} URL on {@code localhost},
 * {@code 127.0.0.0/8} or {@code [::1]} with any port. Host names are compared as written, never
 * resolved; an IP literal passes only as loopback. Entries are exact host names or
 * {@code *.suffix}, which matches any name ending in {@code .suffix} (not the suffix itself).
 * Redirects are never followed by the providers, so the host checked is the host called.
 *
 * @param hosts         the allowed host names and {@code *.suffix} patterns, in lower case
 * @param allowLoopback whether loopback endpoints pass (development mode)
 */
public record EndpointAllowList(List<String> hosts, boolean allowLoopback) {
    /** The public browser push services: Chrome/Edge (FCM), Firefox, Safari, legacy Edge (WNS). */
    public static final List<String> PUBLIC_PUSH_SERVICES = List.of("fcm.googleapis.com",
            "updates.push.services.mozilla.com", "web.push.apple.com", "*.notify.windows.com");

    private static final Pattern NAME = Pattern.compile("(\\*\\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,63}");
    private static final Pattern LOOPBACK_V4 = Pattern.compile("127(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}");

    /** Checks and normalizes the entries. */
    public EndpointAllowList {
        hosts = hosts.stream().map(h -> h.trim().toLowerCase(Locale.ROOT)).toList();
        for (String h : hosts) {
            if (!NAME.matcher(h).matches()) {
                throw new IllegalArgumentException("tandem.push.endpoint-hosts: '" + h + "' is not a host name or *.suffix");
            }
        }
    }

    /** The public push services, with loopback allowed or not. */
    public static EndpointAllowList publicServices(boolean allowLoopback) {
        return new EndpointAllowList(PUBLIC_PUSH_SERVICES, allowLoopback);
    }

    /**
     * Why this endpoint may not be called, or empty when it may.
     *
     * @return a reason fit for a client error message (it does not repeat the URL)
     */
    public Optional<String> refusal(URI endpoint) {
        String scheme = endpoint.getScheme() == null ? "" : endpoint.getScheme().toLowerCase(Locale.ROOT);
        String host = endpoint.getHost() == null ? "" : endpoint.getHost().toLowerCase(Locale.ROOT);
        if (!endpoint.isAbsolute() || host.isEmpty() || endpoint.getRawUserInfo() != null
                || endpoint.getRawFragment() != null) {
            return Optional.of("the endpoint must be an absolute URL without user info or fragment");
        }
        if (allowLoopback && isLoopback(host) && (scheme.equals("http") || scheme.equals("https"))) {
            return Optional.empty();
        }
        if (!scheme.equals("https")) {
            return Optional.of("the endpoint must be an https URL");
        }
        if (endpoint.getPort() != -1 && endpoint.getPort() != 443) {
            return Optional.of("the endpoint must use the default https port");
        }
        if (hosts.stream().noneMatch(pattern -> matches(pattern, host))) {
            return Optional.of("the endpoint's host is not a push service this node may call");
        }
        return Optional.empty();
    }

    /** Whether this endpoint may be called. */
    public boolean allows(URI endpoint) {
        return refusal(endpoint).isEmpty();
    }

    private static boolean matches(String pattern, String host) {
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1); // ".notify.windows.com"
            return host.length() > suffix.length() && host.endsWith(suffix) && NAME.matcher(host).matches();
        }
        return pattern.equals(host);
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.equals("[::1]") || LOOPBACK_V4.matcher(host).matches();
    }
}
