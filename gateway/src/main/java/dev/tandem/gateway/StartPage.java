package dev.tandem.gateway;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * {@code GET /}, for a person who opens the node's address in a browser: when the node serves
 * the demo board it redirects there ({@code 302 /demo/}), otherwise it answers a short plain-text
 * page naming the endpoints (WebSocket, SSE, REST API, health, metrics, contracts). The page is
 * the same in every mode: it names only routes that answer anyone anyway.
 */
final class StartPage implements Handler {
    private static final String TEXT = """
            Tandem sync gateway (protocol tandem.v1)

            WebSocket:   /ws            (subprotocol tandem.v1, with a token)
            SSE:         /sse           (the same sessions where WebSocket cannot go)
            REST API:    /api/v1/       (service API: publish, sync, documents, conflicts)
            Health:      /health        (/health/ready, /health/live)
            Metrics:     /metrics
            Contracts:   /contracts/tandem-asyncapi.yaml  /contracts/tandem-openapi.yaml
            """;

    private final boolean demo;

    /** @param demo whether the node serves the demo board (see {@link #servesBoard}) */
    StartPage(boolean demo) {
        this.demo = demo;
    }

    /**
     * Whether a node serves the demo board: development mode gave it the demo's folder (else
     * empty) and the folder holds the board's page, so a link to it leads somewhere.
     */
    static boolean servesBoard(Optional<Path> demoDir) {
        return demoDir.map(d -> Files.isRegularFile(d.resolve("demo").resolve("index.html"))).orElse(false);
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        // no-store: what / answers depends on the node's mode, which the next start may change
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-store");
        if (demo) {
            res.status(Status.FOUND_302);
            res.headers().set(HeaderNames.LOCATION, "/demo/");
            res.send();
            return;
        }
        res.headers().contentType(MediaTypes.TEXT_PLAIN);
        res.send(TEXT);
    }
}
