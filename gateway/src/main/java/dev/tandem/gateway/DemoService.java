package dev.tandem.gateway;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.FrameCodec;

import io.helidon.common.media.type.MediaType;
import io.helidon.common.media.type.MediaTypes;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

/**
 * The live demo, registered only in development mode: {@code GET /demo/} serves the demo board
 * ({@code demo/} of the TypeScript client's folder, with the compiled client under
 * {@code /demo/dist/}), and {@code GET /demo/token?user=U&tenant=T&location=L} mints a
 * development token, so the page needs no identity provider; {@code /demo} redirects to
 * {@code /demo/}. Outside development mode neither route exists: a node that trusts real keys never hands out tokens.
 *
 * <p>The folder is {@code tandem.demo.dir} ({@code ./tandem run} points it at
 * {@code api-contract/typescript}); files are served only from its {@code demo/} and {@code dist/}.
 */
final class DemoService implements HttpService {
    private static final Map<String, MediaType> TYPES = Map.of(
            "html", MediaTypes.TEXT_HTML,
            "js", MediaTypes.create("text/javascript"),
            "mjs", MediaTypes.create("text/javascript"),
            "css", MediaTypes.create("text/css"),
            "json", MediaTypes.APPLICATION_JSON,
            "map", MediaTypes.APPLICATION_JSON,
            "svg", MediaTypes.create("image/svg+xml"),
            "png", MediaTypes.create("image/png"));

    private final Optional<Path> root;
    private final FrameCodec codec;

    DemoService(Optional<Path> root, FrameCodec codec) {
        this.root = root.map(p -> p.toAbsolutePath().normalize());
        this.codec = codec;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/token", this::token)
                .get("/", this::page)
                .get("/dist/{+path}", (req, res) -> file(res, "dist", req.path().pathParameters().get("path")))
                .get("/{+path}", (req, res) -> file(res, "demo", req.path().pathParameters().get("path")));
    }

    /**
     * The board's page, at {@code /demo/} only: {@code /demo} (which routes here too) is redirected
     * there, query kept, because the page loads its style, script and token by relative paths that
     * resolve against the folder, and without the slash they would miss.
     */
    private void page(ServerRequest req, ServerResponse res) {
        if (!req.prologue().uriPath().rawPath().endsWith("/")) {
            String query = req.query().rawValue();
            res.status(Status.MOVED_PERMANENTLY_301);
            res.headers().set(HeaderNames.LOCATION, "/demo/" + (query.isEmpty() ? "" : "?" + query));
            res.send();
            return;
        }
        file(res, "demo", "index.html");
    }

    private void token(ServerRequest req, ServerResponse res) {
        String user = req.query().first("user").orElse("");
        String tenant = req.query().first("tenant").orElse("demo");
        List<String> locations = req.query().all("location", List::of);
        if (!ChannelName.isValidId(user) || !ChannelName.isValidId(tenant)
                || !locations.stream().allMatch(ChannelName::isValidId)) {
            res.status(Status.BAD_REQUEST_400).send("user, tenant and location must be ids (1-128 of A-Z a-z 0-9 _ . @ ~ -)");
            return;
        }
        Duration ttl = Duration.ofHours(1);
        String token = DevTokens.mint(DevTokens.DEV_SECRET, user, tenant, List.of(),
                locations.isEmpty() ? Map.of() : Map.of("locations", locations), ttl, Optional.empty(), Optional.empty());
        res.headers().contentType(MediaTypes.APPLICATION_JSON);
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-store");
        res.send(codec.write(codec.object().put("token", token).put("expiresIn", ttl.toSeconds())));
    }

    /**
     * Serves a file from below one of the two folders the demo needs ({@code demo/}, the page, and
     * {@code dist/}, the compiled client): nothing else of the client's folder (its package.json,
     * sources, configuration) is reachable, and a path that is no path (a NUL byte) is not found.
     */
    private void file(ServerResponse res, String folder, String relative) {
        if (root.isEmpty()) {
            res.status(Status.NOT_FOUND_404).send("the demo is served from a checkout: run ./tandem run "
                    + "(or set tandem.demo.dir to api-contract/typescript)");
            return;
        }
        Path base = root.get().resolve(folder);
        Path file;
        try {
            file = base.resolve(relative).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            res.status(Status.NOT_FOUND_404).send("not found");
            return;
        }
        if (!file.startsWith(base) || !Files.isRegularFile(file)) {
            res.status(Status.NOT_FOUND_404).send("not found");
            return;
        }
        String name = file.getFileName().toString();
        String ext = name.substring(name.lastIndexOf('.') + 1).toLowerCase(Locale.ROOT);
        res.headers().contentType(TYPES.getOrDefault(ext, MediaTypes.APPLICATION_OCTET_STREAM));
        res.headers().set(HeaderNames.CACHE_CONTROL, "no-cache");
        try {
            res.send(Files.readAllBytes(file));
        } catch (IOException e) {
            res.status(Status.INTERNAL_SERVER_ERROR_500).send("could not read " + name);
        }
    }
}
