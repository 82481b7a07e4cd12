package dev.tandem.contracts;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;

/**
 * Holds code to the machine-readable contracts in {@code api-contract}'s
 * {@code contracts/tandem-asyncapi.yaml} (WebSocket and Server-Sent Events frames) and {@code contracts/tandem-openapi.yaml}
 * (REST): validates a frame (client or server) against the AsyncAPI message schema its
 * {@code op} names, and a REST request or response body against the OpenAPI operation its method
 * and path name, with a JSON Schema validator (networknt json-schema-validator), not hand-written
 * checks. The schemas are strict (unlisted fields are violations), so the documents cannot drift
 * from what the code sends.
 *
 * <p>For tests (this class is in the api-contract test-jar): a module that uses it needs the
 * test-scoped dependencies {@code com.networknt:json-schema-validator} and
 * {@code com.fasterxml.jackson.dataformat:jackson-dataformat-yaml}. Thread-safe; {@link #load()}
 * returns one shared instance.
 */
public final class Contracts {
    /** Classpath location of the AsyncAPI document. */
    public static final String ASYNCAPI = "contracts/tandem-asyncapi.yaml";
    /** Classpath location of the OpenAPI document. */
    public static final String OPENAPI = "contracts/tandem-openapi.yaml";

    private static volatile Contracts shared;

    private final ObjectMapper json = new ObjectMapper();
    private final JsonNode asyncApi;
    private final JsonNode openApi;
    private final SchemaRegistry draft7 = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7);
    private final SchemaRegistry draft2020 = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    /** op → schema pointer, per direction. */
    private final Map<String, String> clientOps;
    private final Map<String, String> serverOps;
    private final Map<String, String> streamOps;
    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

    private Contracts(JsonNode asyncApi, JsonNode openApi) {
        this.asyncApi = asyncApi;
        this.openApi = openApi;
        this.clientOps = ops("receiveClientFrames");
        this.serverOps = ops("sendServerFrames");
        this.streamOps = ops("sendStreamFrames");
    }

    /** The contracts on the classpath (parsed once). */
    public static Contracts load() {
        Contracts c = shared;
        if (c == null) {
            YAMLMapper yaml = new YAMLMapper();
            c = new Contracts(read(yaml, ASYNCAPI), read(yaml, OPENAPI));
            shared = c;
        }
        return c;
    }

    private static JsonNode read(YAMLMapper yaml, String resource) {
        try (InputStream in = Contracts.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the classpath");
            }
            return yaml.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource, e);
        }
    }

    /** The AsyncAPI document (parsed). */
    public JsonNode asyncApi() {
        return asyncApi;
    }

    /** The OpenAPI document (parsed). */
    public JsonNode openApi() {
        return openApi;
    }

    /** The {@code op}s of the client frames the AsyncAPI document defines. */
    public java.util.Set<String> clientOps() {
        return java.util.Set.copyOf(clientOps.keySet());
    }

    /** The {@code op}s of the server frames the AsyncAPI document defines. */
    public java.util.Set<String> serverOps() {
        return java.util.Set.copyOf(serverOps.keySet());
    }

    /** The {@code op}s of the frames the AsyncAPI document lets a Server-Sent Events stream carry. */
    public java.util.Set<String> streamOps() {
        return java.util.Set.copyOf(streamOps.keySet());
    }

    // ------------------------------------------------------------------ frames

    /** What is wrong with a client frame (JSON text) by the contract; empty when it conforms. */
    public List<String> clientFrameErrors(String frame) {
        return frameErrors(frame, clientOps, "client");
    }

    /** What is wrong with a server frame (JSON text) by the contract; empty when it conforms. */
    public List<String> serverFrameErrors(String frame) {
        return frameErrors(frame, serverOps, "server");
    }

    /**
     * What is wrong with a frame a Server-Sent Events stream sent (an event's {@code data}) by the
     * contract; empty when it conforms.
     */
    public List<String> streamFrameErrors(String frame) {
        return frameErrors(frame, streamOps, "stream");
    }

    /** Fails (AssertionError) unless the client frame conforms to the contract. */
    public void assertClientFrame(String frame) {
        fail("client frame", frame, clientFrameErrors(frame));
    }

    /** Fails (AssertionError) unless the server frame conforms to the contract. */
    public void assertServerFrame(String frame) {
        fail("server frame", frame, serverFrameErrors(frame));
    }

    private List<String> frameErrors(String frame, Map<String, String> ops, String side) {
        JsonNode node;
        try {
            node = json.readTree(frame);
        } catch (IOException e) {
            return List.of("not JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            return List.of("a frame is one JSON object");
        }
        String op = node.path("op").asText("");
        String pointer = ops.get(op);
        if (pointer == null) {
            return List.of("the contract has no " + side + " frame with op '" + op + "'");
        }
        return errors(schema(draft7, asyncApi, pointer, Optional.empty()), node);
    }

    // ------------------------------------------------------------------ REST

    /**
     * What is wrong with a REST request body by the contract ({@code body} null or blank: none);
     * empty when it conforms.
     *
     * @param path the request path, e.g. {@code /api/v1/users/bob/send} (a query string is ignored)
     */
    public List<String> restRequestErrors(String method, String path, String body) {
        Optional<JsonNode> operation = operation(method, path);
        if (operation.isEmpty()) {
            return List.of("the contract has no operation " + method + " " + path);
        }
        JsonNode requestBody = resolve(openApi, operation.get().path("requestBody"));
        if (requestBody.isMissingNode()) {
            return body == null || body.isBlank() ? List.of() : List.of("the operation takes no body");
        }
        if (body == null || body.isBlank()) {
            return requestBody.path("required").asBoolean(false) ? List.of("a body is required") : List.of();
        }
        return bodyErrors(requestBody.path("content").path("application/json").path("schema"), body);
    }

    /**
     * What is wrong with a REST response by the contract: its status must be documented (or a
     * {@code default} response be) and its body match; empty when it conforms.
     */
    public List<String> restResponseErrors(String method, String path, int status, String body) {
        Optional<JsonNode> operation = operation(method, path);
        if (operation.isEmpty()) {
            return List.of("the contract has no operation " + method + " " + path);
        }
        JsonNode responses = operation.get().path("responses");
        JsonNode response = responses.has(String.valueOf(status)) ? responses.get(String.valueOf(status))
                : status >= 400 ? responses.path("default") : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        if (response.isMissingNode()) {
            return List.of("status " + status + " is not a documented response of " + method + " " + path);
        }
        JsonNode schema = resolve(openApi, response).path("content").path("application/json").path("schema");
        if (schema.isMissingNode()) {
            return body == null || body.isBlank() ? List.of() : List.of("the response has no documented body");
        }
        return bodyErrors(schema, body == null ? "" : body);
    }

    /** Fails (AssertionError) unless the request body conforms. */
    public void assertRestRequest(String method, String path, String body) {
        fail(method + " " + path + " request", body, restRequestErrors(method, path, body));
    }

    /** Fails (AssertionError) unless the response conforms. */
    public void assertRestResponse(String method, String path, int status, String body) {
        fail(method + " " + path + " response " + status, body, restResponseErrors(method, path, status, body));
    }

    private List<String> bodyErrors(JsonNode schemaNode, String body) {
        JsonNode node;
        try {
            node = json.readTree(body);
        } catch (IOException e) {
            return List.of("not JSON: " + e.getMessage());
        }
        if (node == null || node.isMissingNode()) {
            return List.of("an empty body");
        }
        Schema schema;
        if (schemaNode.has("$ref") && schemaNode.size() == 1) {
            schema = schema(draft2020, openApi, schemaNode.get("$ref").asText(), Optional.empty());
        } else {
            schema = schema(draft2020, openApi, "inline:" + schemaNode, Optional.of(schemaNode));
        }
        return errors(schema, node);
    }

    private Optional<JsonNode> operation(String method, String path) {
        String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        Iterator<Map.Entry<String, JsonNode>> it = openApi.path("paths").properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String regex = "\\Q" + e.getKey().replaceAll("\\{[^/}]+}", "\\\\E[^/]+\\\\Q") + "\\E";
            if (Pattern.matches(regex, p)) {
                JsonNode op = e.getValue().path(method.toLowerCase(Locale.ROOT));
                if (!op.isMissingNode()) {
                    return Optional.of(op);
                }
            }
        }
        return Optional.empty();
    }

    // ------------------------------------------------------------------ helpers

    /** op → payload schema pointer of every message of an AsyncAPI operation. */
    private Map<String, String> ops(String operation) {
        Map<String, String> result = new HashMap<>();
        JsonNode messages = asyncApi.path("operations").path(operation).path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw new IllegalStateException(ASYNCAPI + " has no messages for operation " + operation);
        }
        for (JsonNode ref : messages) {
            JsonNode message = resolve(asyncApi, ref);
            JsonNode payloadRef = message.path("payload").path("$ref");
            if (!payloadRef.isTextual()) {
                throw new IllegalStateException("message " + ref + " has no payload $ref");
            }
            JsonNode payload = resolve(asyncApi, message.path("payload"));
            String op = payload.path("properties").path("op").path("const").asText("");
            if (op.isEmpty() || result.put(op, payloadRef.asText()) != null) {
                throw new IllegalStateException("message " + ref + " has no op const, or one already taken");
            }
        }
        return result;
    }

    /** Follows {@code $ref}s (local JSON pointers) until a node without one. */
    private static JsonNode resolve(JsonNode root, JsonNode node) {
        JsonNode n = node;
        for (int i = 0; i < 16 && n.has("$ref"); i++) {
            String ref = n.get("$ref").asText();
            if (!ref.startsWith("#/")) {
                throw new IllegalStateException("only local references are supported: " + ref);
            }
            n = root.at(ref.substring(1));
            if (n.isMissingNode()) {
                throw new IllegalStateException("unresolved reference " + ref);
            }
        }
        return n;
    }

    /**
     * A schema for a pointer into the document (or an inline schema), built as a wrapper whose
     * root carries the document's {@code components}, so {@code #/components/...} references resolve.
     */
    private Schema schema(SchemaRegistry registry, JsonNode document, String key, Optional<JsonNode> inline) {
        return schemas.computeIfAbsent((registry == draft7 ? "7:" : "2020:") + key, k -> {
            ObjectNode wrapper = inline.map(i -> ((ObjectNode) i).deepCopy())
                    .orElseGet(() -> json.createObjectNode().put("$ref", key));
            wrapper.set("components", document.path("components"));
            if (registry == draft2020) {
                wrapper.put("$schema", "https://json-schema.org/draft/2020-12/schema");
            }
            return registry.getSchema(wrapper);
        });
    }

    private static List<String> errors(Schema schema, JsonNode node) {
        List<String> result = new ArrayList<>();
        for (Error e : schema.validate(node)) {
            result.add(e.toString());
        }
        return result;
    }

    private static void fail(String what, String text, List<String> errors) {
        if (!errors.isEmpty()) {
            throw new AssertionError(what + " does not conform to the contract: " + String.join("; ", errors)
                    + "\n  " + (text == null ? "(no body)" : text.length() > 2_000 ? text.substring(0, 2_000) + "…" : text));
        }
    }
}
