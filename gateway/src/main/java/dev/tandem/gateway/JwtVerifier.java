package dev.tandem.gateway;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenExpiredException;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.common.Errors;
import io.helidon.config.Config;
import io.helidon.security.jwt.Jwt;
import io.helidon.security.jwt.JwtValidator;
import io.helidon.security.jwt.SignedJwt;
import io.helidon.security.jwt.jwk.Jwk;
import io.helidon.security.jwt.jwk.JwkKeys;
import io.helidon.security.jwt.jwk.JwkOctet;
import jakarta.json.Json;
import jakarta.json.JsonArray;
import jakarta.json.JsonObject;
import jakarta.json.JsonString;
import jakarta.json.JsonValue;

/**
 * Verifies JWTs with helidon-security-jwt: HS256 with a shared secret (development), and
 * RS256/ES256 (and the 384/512 variants) with keys from a JWKS file or URL (production).
 *
 * <p>Accepted algorithms are pinned; {@code none} never passes, and an HMAC token is only ever
 * checked against the shared secret and an RSA/EC token only against the JWKS, so an attacker
 * cannot sign with a public key as an HMAC secret. {@code exp} is mandatory unless configured
 * otherwise. An unknown {@code kid} reloads the JWKS, at most once per
 * {@code jwks-refresh-interval}. Error messages never contain the token.
 *
 * <p>The public development secret is trusted only in development mode
 * ({@code tandem.dev-mode=true}, set by {@code ./tandem run}); a node without it refuses to
 * start with no keys or with that secret configured.
 *
 * <p>Configuration ({@code tandem.auth}): {@code hs256-secret}, {@code jwks-file},
 * {@code jwks-url}, {@code issuer}, {@code audience}, {@code algorithms}, {@code require-exp},
 * {@code clock-skew}, {@code tenant-claim}, {@code roles-claim}, {@code scope-claims},
 * {@code jwks-refresh-interval}.
 */
final class JwtVerifier implements TokenVerifier {
    private static final System.Logger LOG = System.getLogger(JwtVerifier.class.getName());
    static final String HMAC_KID = "tandem-hs256";

    private final Optional<JwkOctet> hmac;
    private final boolean hmacIsDev;
    private final JwkKeys hmacKeys;
    private final Optional<Path> jwksFile;
    private final Optional<URI> jwksUrl;
    private final Set<String> algorithms;
    private final JwtValidator validator;
    private final String tenantClaim;
    private final String rolesClaim;
    private final List<String> scopeClaims;
    /**
     * The scopes of a token that names none of the scope claims: one map for all of them (a
     * connection keeps its principal, and with it this map, for its whole life).
     */
    private final Map<String, List<String>> unscoped;
    private final Duration refreshInterval;
    private final ReentrantLock reloadLock = new ReentrantLock();
    private volatile JwkKeys jwks;
    private volatile long lastReloadNanos;

    private JwtVerifier(Config auth, boolean devMode) {
        Optional<String> secret = auth.get("hs256-secret").asString().asOptional().filter(s -> !s.isBlank());
        if (secret.isPresent() && secret.get().equals(DevTokens.DEV_SECRET) && !devMode) {
            throw new IllegalArgumentException("tandem.auth.hs256-secret is the public development secret; "
                    + "set your own, or run with tandem.dev-mode=true on a development machine");
        }
        if (secret.isEmpty() && devMode) {
            secret = Optional.of(DevTokens.DEV_SECRET);
        }
        this.hmac = secret.map(JwtVerifier::octet);
        this.hmacIsDev = secret.map(DevTokens.DEV_SECRET::equals).orElse(false);
        this.hmacKeys = hmac.map(k -> JwkKeys.builder().addKey(k).build()).orElseGet(() -> JwkKeys.builder().build());
        this.jwksFile = auth.get("jwks-file").asString().filter(s -> !s.isBlank()).map(Path::of);
        this.jwksUrl = auth.get("jwks-url").asString().filter(s -> !s.isBlank()).map(URI::create);
        this.algorithms = new HashSet<>(ConfigLists.strings(auth.get("algorithms"),
                List.of("HS256", "RS256", "ES256")));
        this.algorithms.remove("none");
        this.tenantClaim = auth.get("tenant-claim").asString().orElse("tid");
        this.rolesClaim = auth.get("roles-claim").asString().orElse("roles");
        this.scopeClaims = ConfigLists.strings(auth.get("scope-claims"),
                List.of("locations", "workspaces", "projects"));
        Map<String, List<String>> none = new HashMap<>();
        scopeClaims.forEach(claim -> none.put(claim, List.of()));
        this.unscoped = Map.copyOf(none);
        this.refreshInterval = auth.get("jwks-refresh-interval").as(Duration.class).orElse(Duration.ofSeconds(30));
        boolean requireExp = auth.get("require-exp").asBoolean().orElse(true);
        Duration skew = auth.get("clock-skew").as(Duration.class).orElse(Duration.ofSeconds(5));
        JwtValidator.Builder v = JwtValidator.builder()
                .addExpirationValidator(b -> b.mandatory(requireExp).allowedTimeSkew(skew))
                .addNotBeforeValidator(b -> b.allowedTimeSkew(skew))
                .addIssueTimeValidator(b -> b.allowedTimeSkew(skew));
        auth.get("issuer").asString().filter(s -> !s.isBlank()).ifPresent(v::addIssuerValidator);
        auth.get("audience").asString().filter(s -> !s.isBlank()).ifPresent(v::addAudienceValidator);
        this.validator = v.build();
        if (hmac.isEmpty() && jwksFile.isEmpty() && jwksUrl.isEmpty()) {
            throw new IllegalArgumentException("no token keys configured: set tandem.auth.jwks-file or jwks-url "
                    + "(RS256/ES256) or hs256-secret, or run with tandem.dev-mode=true (./tandem run does) to "
                    + "trust the public development secret");
        }
        this.jwks = loadJwks().orElseGet(() -> JwkKeys.builder().build());
        this.lastReloadNanos = System.nanoTime();
    }

    /**
     * A verifier from the {@code tandem.auth} configuration node. In development mode, and only
     * then, a missing {@code hs256-secret} means the public development secret.
     *
     * @throws IllegalArgumentException when no key is configured, or the development secret is
     *                                  configured outside development mode
     */
    static JwtVerifier create(Config auth, boolean devMode) {
        return new JwtVerifier(auth, devMode);
    }

    /** Whether HS256 tokens are accepted with the public development secret. */
    boolean trustsDevelopmentSecret() {
        return hmac.isPresent() && hmacIsDev;
    }

    /** The HMAC key for a shared secret (its UTF-8 bytes). */
    static JwkOctet octet(String secret) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 32) {
            throw new IllegalArgumentException("tandem.auth.hs256-secret must be at least 32 bytes");
        }
        return JwkOctet.create(Json.createObjectBuilder()
                .add("kty", "oct")
                .add("kid", HMAC_KID)
                .add("alg", "HS256")
                .add("k", Base64.getUrlEncoder().withoutPadding().encodeToString(bytes))
                .build());
    }

    @Override
    public Principal verify(String token) {
        if (token == null || token.isBlank()) {
            throw unauthorized("no token");
        }
        SignedJwt signed;
        Jwt jwt;
        try {
            signed = SignedJwt.parseToken(token.trim());
            // getJwt() parses the claims and throws (ClassCastException, DateTimeException …) on
            // wrongly typed standard claims such as "exp":"x"
            jwt = signed.getJwt();
        } catch (RuntimeException e) {
            // the exception message contains the token: never log or return it
            throw unauthorized("malformed token");
        }
        // the JWT library reads an out-of-range number as something else (1e1000000000 as 0):
        // the time claims are judged on their JSON values first
        for (String claim : TIME_CLAIMS) {
            checkTime(jwt, claim);
        }
        String alg = jwt.algorithm().orElse(Jwk.ALG_NONE);
        if (!algorithms.contains(alg)) {
            throw unauthorized("algorithm " + alg + " is not accepted");
        }
        Errors errors = alg.startsWith("HS") ? verifyHmac(signed, alg) : verifyPublicKey(signed, jwt);
        if (!errors.isValid()) {
            throw unauthorized("invalid signature");
        }
        Errors claims = validator.validate(jwt);
        if (!claims.isValid()) {
            String text = claims.toString().toLowerCase(Locale.ROOT);
            if (text.contains("no longer valid")) {
                // Helidon's ExpirationValidator: "Token no longer valid, expiration: …"
                throw new TokenExpiredException();
            }
            throw unauthorized(text.contains("audience") ? "wrong audience"
                    : text.contains("issuer") ? "wrong issuer"
                    : text.contains("mandatory") ? "a required claim is missing"
                    : "token not valid yet or claims invalid");
        }
        String user = jwt.subject().filter(ChannelName::isValidId)
                .orElseThrow(() -> unauthorized("claim 'sub' missing or not a valid id"));
        String tenant = string(jwt.payloadClaim(tenantClaim)).filter(ChannelName::isValidId)
                .orElseThrow(() -> unauthorized("claim '" + tenantClaim + "' missing or not a valid id"));
        Map<String, List<String>> scopes = new HashMap<>();
        boolean scoped = false;
        for (String claim : scopeClaims) {
            List<String> ids = strings(jwt.payloadClaim(claim));
            scopes.put(claim, ids);
            scoped |= !ids.isEmpty();
        }
        Optional<String> jti = jwt.jwtId().filter(id -> !id.isEmpty() && id.length() <= 256);
        return new Principal(tenant, user, Set.copyOf(strings(jwt.payloadClaim(rolesClaim))),
                scoped ? scopes : unscoped,
                jwt.expirationTime(), jti, jwt.issueTime());
    }

    /** NumericDate claims: seconds since 1970, from 0 to the end of year 9999. */
    private static final List<String> TIME_CLAIMS = List.of("exp", "nbf", "iat");
    private static final java.math.BigDecimal LATEST_TIME = java.math.BigDecimal.valueOf(253_402_300_799L);

    private static void checkTime(Jwt jwt, String claim) {
        Optional<JsonValue> v = jwt.payloadClaim(claim);
        if (v.isEmpty()) {
            return;
        }
        if (!(v.get() instanceof jakarta.json.JsonNumber n)) {
            throw unauthorized("claim '" + claim + "' must be a number");
        }
        java.math.BigDecimal t = n.bigDecimalValue();
        if (t.signum() < 0 || t.compareTo(LATEST_TIME) > 0) {
            throw unauthorized("claim '" + claim + "' is out of range");
        }
    }

    private Errors verifyHmac(SignedJwt signed, String alg) {
        if (hmac.isEmpty() || !"HS256".equals(alg)) {
            throw unauthorized("algorithm " + alg + " is not configured");
        }
        return signed.verifySignature(hmacKeys, hmac.get());
    }

    private Errors verifyPublicKey(SignedJwt signed, Jwt jwt) {
        Optional<String> kid = jwt.keyId();
        JwkKeys keys = jwks;
        if (kid.isPresent() && keys.forKeyId(kid.get()).isEmpty()) {
            keys = reloadIfDue().orElse(keys);
        }
        if (kid.isPresent()) {
            Jwk key = keys.forKeyId(kid.get()).orElseThrow(() -> unauthorized("unknown key id"));
            if (!key.algorithm().equals(jwt.algorithm().orElse(""))) {
                throw unauthorized("key " + kid.get() + " is not for " + jwt.algorithm().orElse("none"));
            }
            return signed.verifySignature(keys, key);
        }
        // no kid: accept only when exactly one key has the token's algorithm
        List<Jwk> candidates = new ArrayList<>();
        for (Jwk k : keys.keys()) {
            if (k.algorithm().equals(jwt.algorithm().orElse(""))) {
                candidates.add(k);
            }
        }
        if (candidates.size() != 1) {
            throw unauthorized("token has no key id and the key set has " + candidates.size() + " candidate keys");
        }
        return signed.verifySignature(keys, candidates.getFirst());
    }

    private Optional<JwkKeys> reloadIfDue() {
        if (System.nanoTime() - lastReloadNanos < refreshInterval.toNanos() || !reloadLock.tryLock()) {
            return Optional.empty();
        }
        try {
            lastReloadNanos = System.nanoTime();
            Optional<JwkKeys> fresh = loadJwks();
            fresh.ifPresent(k -> jwks = k);
            return fresh;
        } finally {
            reloadLock.unlock();
        }
    }

    /** Loads the JWKS, keeping only RSA and EC keys (an HMAC key from a JWKS is never trusted). */
    private Optional<JwkKeys> loadJwks() {
        Optional<String> json = Optional.empty();
        try {
            if (jwksFile.isPresent()) {
                json = Optional.of(Files.readString(jwksFile.get()));
            } else if (jwksUrl.isPresent()) {
                try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
                    HttpResponse<String> res = client.send(HttpRequest.newBuilder(jwksUrl.get())
                            .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
                    if (res.statusCode() != 200) {
                        throw new IOException("HTTP " + res.statusCode());
                    }
                    json = Optional.of(res.body());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot load JWKS from " + jwksFile.map(Path::toString)
                    .orElseGet(() -> jwksUrl.map(URI::toString).orElse("?")) + ": " + e.getMessage());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
        if (json.isEmpty()) {
            return Optional.empty();
        }
        JwkKeys.Builder keys = JwkKeys.builder();
        int accepted = 0;
        try {
            JsonObject all = Json.createReader(new java.io.StringReader(json.get())).readObject();
            for (JsonValue v : all.getJsonArray("keys")) {
                try {
                    JsonObject key = v.asJsonObject();
                    String kty = key.getString("kty", "");
                    if (kty.equals("RSA") || kty.equals("EC")) {
                        keys.addKey(Jwk.create(key));
                        accepted++;
                    }
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "skipping a JWKS key that cannot be used: " + e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "the JWKS is not a valid key set, keeping the previous keys: "
                    + e.getMessage());
            return Optional.empty();
        }
        if (accepted == 0) {
            LOG.log(System.Logger.Level.WARNING, "the JWKS has no RSA or EC key");
        }
        return Optional.of(keys.build());
    }

    private static Optional<String> string(Optional<JsonValue> v) {
        return v.filter(x -> x.getValueType() == JsonValue.ValueType.STRING).map(x -> ((JsonString) x).getString());
    }

    private static List<String> strings(Optional<JsonValue> v) {
        if (v.isEmpty()) {
            return List.of();
        }
        JsonValue value = v.get();
        if (value.getValueType() == JsonValue.ValueType.STRING) {
            return List.of(((JsonString) value).getString());
        }
        if (value.getValueType() == JsonValue.ValueType.ARRAY) {
            List<String> result = new ArrayList<>();
            for (JsonValue item : (JsonArray) value) {
                if (item.getValueType() == JsonValue.ValueType.STRING) {
                    result.add(((JsonString) item).getString());
                }
            }
            return List.copyOf(result);
        }
        return List.of();
    }

    private static ProtocolException unauthorized(String why) {
        return new ProtocolException(ErrorCode.UNAUTHORIZED, why);
    }
}
