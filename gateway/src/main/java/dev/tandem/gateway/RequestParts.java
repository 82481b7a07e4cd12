package dev.tandem.gateway;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;
import java.util.Optional;

import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;

/** What every endpoint reads from a request the same way: its bearer token and its client's address. */
final class RequestParts {
    private RequestParts() {
    }

    /** The token of an {@code Authorization: Bearer} header (the scheme in any case). */
    static Optional<String> bearer(Headers headers) {
        return headers.first(HeaderNames.AUTHORIZATION)
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).trim());
    }

    /** A client's address as the per-address limit counts it: the IP address, without the port. */
    static String address(SocketAddress a) {
        if (a instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress().toLowerCase(Locale.ROOT);
        }
        return String.valueOf(a);
    }
}
