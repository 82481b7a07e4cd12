package dev.tandem.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;

import io.helidon.common.media.type.MediaType;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * Serves the machine-readable contracts, in every mode and without authentication:
 * {@code GET /contracts/tandem-asyncapi.yaml} (AsyncAPI 3: the {@code tandem.v1} WebSocket frames,
 * the SSE stream and the Kafka topics) and {@code GET /contracts/tandem-openapi.yaml} (OpenAPI 3.1:
 * the REST API), as {@code application/yaml}. The bytes are the {@code contracts/} resources of
 * the tandem-protocol jar the node runs with, read once at start, so a node always serves the
 * contract it was built against. Any other name is a 404.
 */
final class ContractsService implements HttpService {
    /** The documents served, by file name. */
    static final java.util.List<String> NAMES = java.util.List.of("tandem-asyncapi.yaml", "tandem-openapi.yaml");
    private static final MediaType YAML = MediaTypes.create("application/yaml");

    private final Map<String, byte[]> documents;

    private ContractsService(Map<String, byte[]> documents) {
        this.documents = documents;
    }

    /**
     * Reads the documents from the classpath.
     *
     * @throws StartupException if one is missing (a broken build)
     */
    static ContractsService fromClasspath() {
        Map<String, byte[]> docs = new java.util.HashMap<>();
        for (String name : NAMES) {
            docs.put(name, read("contracts/" + name).orElseThrow(() -> new StartupException(
                    "contracts/" + name + " is not on the classpath\n  fix: run the node with the tandem-protocol jar "
                            + "it was built with (target/libs/tandem-protocol-*.jar)", null)));
        }
        return new ContractsService(Map.copyOf(docs));
    }

    private static Optional<byte[]> read(String resource) {
        try (InputStream in = ContractsService.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/{name}", this::document);
    }

    private void document(ServerRequest req, ServerResponse res) {
        byte[] body = documents.get(req.path().pathParameters().get("name"));
        if (body == null) {
            res.status(Status.NOT_FOUND_404).send("no such contract; served: " + String.join(", ", NAMES));
            return;
        }
        res.headers().contentType(YAML);
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-cache");
        res.send(body);
    }
}
