package dev.tandem.hooks;

import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.document.WriteGuard;
import dev.tandem.operations.Hooks;
import dev.tandem.protocol.Echo;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * {@link Hooks} answered by the application's backend over HTTP. Each configured hook POSTs a
 * JSON object to its URL, signed ({@link Signature}), with a request id, the principal
 * ({@code tenant}, {@code user}, {@code roles}, {@code scopes}) and what is asked about; the
 * backend answers 2xx with {@code {"result": "allow"}} or {@code {"result": "refuse", "reason":
 * "..."}} and, where the hook allows it, changes:
 * <ul>
 *   <li>{@code connect}: {@code roles} and {@code scopes} ({@code {"locations": ["wh-9"]}}) added
 *       to the token's, {@code channels} to subscribe the connection to at once; a refusal closes
 *       the connection with 4001;</li>
 *   <li>{@code subscribe} ({@code channel}): a refusal is {@code forbidden};</li>
 *   <li>{@code publish} ({@code channel}, {@code type}, {@code data}, {@code ephemeral}): a
 *       {@code data} in the answer replaces the published data; a refusal is {@code forbidden};</li>
 *   <li>{@code document-write} ({@code docType}, {@code docId}, {@code change} with its
 *       {@code kind} and {@code data}, {@code stored}, {@code conflictId}): asked before the
 *       write's transaction, with no row lock or connection held (again when the document moved
 *       meanwhile and the write's outcome changed); a refusal is the op's {@code rejected} result with
 *       the answer's {@code code} (default {@code refused}) and {@code reason}.</li>
 * </ul>
 * A call that gets no usable answer (timeout, connection refused, non-2xx, bulkhead full)
 * refuses with {@code unavailable} (a transient code: the client may retry), or allows when that
 * hook is configured {@code on-failure: allow}. A hook blocks only the connection or request that
 * needs it. Thread-safe.
 */
public final class HttpHooks implements Hooks, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HttpHooks.class.getName());
    private static final Pattern CODE = Pattern.compile("[a-z][a-z0-9_]{0,31}");
    private static final int MAX_REASON = 200;
    private static final int MAX_CHANNELS = 64;

    /** The two answers a hook may give in {@code result}. */
    private static final String ALLOW = "allow";
    private static final String REFUSE = "refuse";
    private final Map<String, Endpoint> endpoints = new HashMap<>();
    private final boolean publishEphemeral;
    private final ObjectMapper mapper;
    private final HttpClient http;

    private HttpHooks(HookSettings settings, ObjectMapper mapper, Telemetry telemetry, Clock clock) {
        this.mapper = mapper;
        this.publishEphemeral = settings.publishEphemeral();
        Duration connectTimeout = settings.targets().values().stream().map(HookSettings.Target::timeout)
                .max(Duration::compareTo).orElse(HookSettings.DEFAULT_TIMEOUT);
        this.http = HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        Signature signature = new Signature(settings.secret());
        settings.targets().forEach((name, target) -> endpoints.put(name,
                new Endpoint(name, target, http, signature, mapper, telemetry, clock)));
    }

    /**
     * The hooks of the settings, or {@link Hooks#NONE} when none is on.
     */
    public static Hooks create(HookSettings settings, ObjectMapper mapper, Telemetry telemetry, Clock clock) {
        return settings.any() ? new HttpHooks(settings, mapper, telemetry, clock) : Hooks.NONE;
    }

    @Override
    public Admitted connect(Principal principal) {
        Optional<ObjectNode> answer = ask("connect", principal, body -> { });
        if (answer.isEmpty()) {
            return new Admitted(principal, List.of());
        }
        ObjectNode a = answer.get();
        Optional<Refused> refused = refusal(a);
        if (refused.isPresent()) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, refused.get().reason());
        }
        Set<String> roles = new HashSet<>(principal.roles());
        for (JsonNode r : a.path("roles")) {
            if (r.isTextual() && !r.textValue().isBlank()) {
                roles.add(r.textValue());
            }
        }
        Map<String, List<String>> scopes = new HashMap<>(principal.scopes());
        a.path("scopes").properties().forEach(e -> {
            List<String> ids = new ArrayList<>(scopes.getOrDefault(e.getKey(), List.of()));
            for (JsonNode id : e.getValue()) {
                if (id.isTextual() && !ids.contains(id.textValue())) {
                    ids.add(id.textValue());
                }
            }
            scopes.put(e.getKey(), ids);
        });
        List<String> channels = new ArrayList<>();
        for (JsonNode c : a.path("channels")) {
            if (c.isTextual() && channels.size() < MAX_CHANNELS) {
                channels.add(c.textValue());
            }
        }
        return new Admitted(principal.with(roles, scopes), channels);
    }

    @Override
    public Optional<String> subscribe(Principal principal, ChannelKey channel) {
        Optional<ObjectNode> answer = ask("subscribe", principal, body -> body.put("channel", channel.name().toString()));
        return answer.flatMap(a -> refusal(a).map(Refused::reason));
    }

    @Override
    public Draft publish(Principal principal, ChannelKey channel, Draft draft) {
        if (draft.ephemeral() && !publishEphemeral) {
            return draft;
        }
        Optional<ObjectNode> answer = ask("publish", principal, body -> body.put("channel", channel.name().toString())
                .put("type", draft.type()).put("ephemeral", draft.ephemeral()).set("data", draft.data()));
        if (answer.isEmpty()) {
            return draft;
        }
        Optional<Refused> refused = refusal(answer.get());
        if (refused.isPresent()) {
            throw new ProtocolException(ErrorCode.FORBIDDEN, refused.get().reason());
        }
        JsonNode data = answer.get().get("data");
        return data == null || data.isNull() ? draft
                : new Draft(draft.type(), data, draft.ephemeral(), draft.eventId(), draft.from());
    }

    @Override
    public boolean judgesDocumentWrites() {
        return endpoints.containsKey("document-write");
    }

    /**
     * Asks the backend about a document write. The store calls this outside its transactions
     * (no row lock, no pooled connection held), with the stored version it judged, and again only
     * when the document moved and the write's outcome changed.
     */
    @Override
    public Optional<WriteGuard.Refusal> documentWrite(WriteGuard.Write write) {
        Optional<ObjectNode> answer = ask("document-write", write.who(), body -> {
            body.put("docType", write.ref().type()).put("docId", write.ref().id());
            ObjectNode change = body.putObject("change");
            switch (write.change()) {
                case WriteGuard.Change.Put p -> change.put("kind", "put").set("data", p.data());
                case WriteGuard.Change.Delete d -> change.put("kind", "delete");
                case WriteGuard.Change.Propose p -> change.put("kind", "propose").set("data", p.local());
                case WriteGuard.Change.None n -> change.put("kind", "none");
            }
            if (write.stored().isPresent()) {
                body.set("stored", write.stored().get().toJson());
            } else {
                body.putNull("stored");
            }
            write.conflictId().ifPresent(c -> body.put("conflictId", c));
        });
        return answer.flatMap(a -> refusal(a).map(r -> new WriteGuard.Refusal(r.code(), r.reason())));
    }

    /**
     * Asks the hook when it is on: its answer, or empty when it is off or (configured so) a
     * failed call allows.
     *
     * @throws ProtocolException {@code UNAVAILABLE} when the call failed and the hook refuses then
     */
    private Optional<ObjectNode> ask(String hook, Principal who, java.util.function.Consumer<ObjectNode> fill) {
        Endpoint endpoint = endpoints.get(hook);
        if (endpoint == null) {
            return Optional.empty();
        }
        String requestId = UUID.randomUUID().toString();
        ObjectNode body = mapper.createObjectNode().put("hook", hook).put("requestId", requestId)
                .put("tenant", who.tenant()).put("user", who.user());
        ArrayNode roles = body.putArray("roles");
        who.roles().stream().sorted().forEach(roles::add);
        ObjectNode scopes = body.putObject("scopes");
        who.scopes().forEach((k, v) -> v.forEach(scopes.withArray(k)::add));
        who.expiresAt().ifPresent(t -> body.put("expiresAt", t.toString()));
        fill.accept(body);
        try {
            return Optional.of(decided(endpoint.call(body)));
        } catch (Endpoint.Failure e) {
            LOG.log(System.Logger.Level.WARNING, "tenant " + who.tenant() + " user " + who.user() + ": " + hook
                    + " hook (request " + requestId + ") failed: " + e.getMessage()
                    + (endpoint.failOpen() ? "; allowed (on-failure: allow)" : "; refused"));
            if (endpoint.failOpen()) {
                return Optional.empty();
            }
            throw new ProtocolException(ErrorCode.UNAVAILABLE, "the application's backend did not answer the " + hook
                    + " hook; try again later");
        }
    }

    private record Refused(String code, String reason) {
    }

    /**
     * The answer when it decides: only {@code "result": "allow"} or {@code "refuse"} counts. An
     * empty body, {@code {}}, {@code "deny"} or {@code "REFUSE"} is no answer, and what no answer
     * means is the hook's {@code on-failure} setting, never a silent allow.
     */
    private static ObjectNode decided(ObjectNode answer) throws Endpoint.Failure {
        String result = answer.path("result").asText("");
        if (!result.equals(ALLOW) && !result.equals(REFUSE)) {
            throw new Endpoint.Failure("answered no result (\"allow\" or \"refuse\" expected, got "
                    + (answer.has("result") ? Echo.quoted(answer.get("result").toString(), 32) : "none") + ")");
        }
        return answer;
    }

    /** A refusal when the answer says {@code refuse}. */
    private static Optional<Refused> refusal(ObjectNode answer) {
        if (!REFUSE.equals(answer.path("result").asText())) {
            return Optional.empty();
        }
        String reason = answer.path("reason").asText("refused by the application");
        reason = LogText.safe(reason.length() > MAX_REASON ? reason.substring(0, MAX_REASON) : reason);
        String code = answer.path("code").asText("refused");
        return Optional.of(new Refused(CODE.matcher(code).matches() ? code : "refused",
                reason.isBlank() ? "refused by the application" : reason));
    }

    /** Stops the HTTP client. */
    @Override
    public void close() {
        http.close();
    }
}
