package dev.tandem.push.webpush;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.tandem.push.support.EcKeys;

/**
 * The node's VAPID key pair (P-256): it signs the token every Web Push request carries, and its
 * public key is what a browser passes as {@code applicationServerKey} when it subscribes, so every
 * node of a cluster must use the same pair.
 *
 * <p>The file is a private JSON Web Key (RFC 7517/7518) with the public coordinates, e.g.
 * <pre>{"kty":"EC","crv":"P-256","x":"…","y":"…","d":"…"}</pre>
 * {@code x}, {@code y} and {@code d} base64url, 32 bytes each. A file written here is readable by
 * its owner only. To bring keys made elsewhere (such as {@code web-push generate-vapid-keys}),
 * split the 65-byte public key into {@code x} (bytes 1–32) and {@code y} (bytes 33–64) and put the
 * private key as {@code d}.
 */
public final class VapidKeys {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ECPrivateKey privateKey;
    private final ECPublicKey publicKey;

    private VapidKeys(ECPrivateKey privateKey, ECPublicKey publicKey) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        if (!pairs(privateKey, publicKey)) {
            throw new IllegalArgumentException("the VAPID private key does not belong to its public key");
        }
    }

    /** A new key pair. */
    public static VapidKeys generate() {
        KeyPair pair = EcKeys.generate();
        return new VapidKeys((ECPrivateKey) pair.getPrivate(), (ECPublicKey) pair.getPublic());
    }

    /**
     * Reads a key pair file (a private JWK, see the class comment).
     *
     * @throws IOException              when the file cannot be read
     * @throws IllegalArgumentException when it is not a P-256 private JWK whose parts belong together
     */
    public static VapidKeys load(Path file) throws IOException {
        JsonNode jwk;
        try {
            jwk = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("the VAPID key file " + file + " is not JSON");
        }
        if (jwk == null || !"EC".equals(jwk.path("kty").asText()) || !"P-256".equals(jwk.path("crv").asText())) {
            throw new IllegalArgumentException("the VAPID key file " + file + " is not a P-256 JWK (kty EC, crv P-256)");
        }
        try {
            byte[] x = coordinate(jwk, "x");
            byte[] y = coordinate(jwk, "y");
            byte[] point = new byte[EcKeys.POINT_BYTES];
            point[0] = 0x04;
            System.arraycopy(x, 0, point, 1, 32);
            System.arraycopy(y, 0, point, 33, 32);
            return new VapidKeys(EcKeys.privateKey(coordinate(jwk, "d")), EcKeys.publicKey(point));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the VAPID key file " + file + " is not a valid P-256 private JWK: "
                    + e.getMessage());
        }
    }

    /**
     * Reads the key pair file, or makes a new pair and writes it there when there is none (what a
     * development node does once, keeping the pair with its data).
     */
    public static VapidKeys loadOrCreate(Path file) throws IOException {
        if (Files.exists(file)) {
            return load(file);
        }
        VapidKeys keys = generate();
        try {
            keys.save(file);
            return keys;
        } catch (FileAlreadyExistsException e) {
            return load(file); // another process made it first: use theirs
        }
    }

    /**
     * Writes the pair as a private JWK, readable by its owner only.
     *
     * @throws FileAlreadyExistsException when the file exists (a key pair is never overwritten)
     */
    public void save(Path file) throws IOException {
        Map<String, String> jwk = new LinkedHashMap<>();
        byte[] point = EcKeys.point(publicKey);
        jwk.put("kty", "EC");
        jwk.put("crv", "P-256");
        jwk.put("x", EcKeys.base64Url(Arrays.copyOfRange(point, 1, 33)));
        jwk.put("y", EcKeys.base64Url(Arrays.copyOfRange(point, 33, 65)));
        jwk.put("d", EcKeys.base64Url(EcKeys.scalar(privateKey)));
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".vapid", ".tmp");
        try {
            if (dir.getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            }
            Files.writeString(tmp, JSON.writeValueAsString(jwk) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file); // no REPLACE_EXISTING: an existing pair is kept
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The public key as browsers need it: base64url of the 65-byte uncompressed point. */
    public String publicKeyBase64Url() {
        return EcKeys.base64Url(EcKeys.point(publicKey));
    }

    /** The public key. */
    public ECPublicKey publicKey() {
        return publicKey;
    }

    ECPrivateKey privateKey() {
        return privateKey;
    }

    @Override
    public String toString() {
        return "VapidKeys[public=" + publicKeyBase64Url() + "]";
    }

    private static byte[] coordinate(JsonNode jwk, String name) {
        byte[] bytes = EcKeys.base64Url(Objects.requireNonNullElse(jwk.path(name).textValue(), ""));
        if (bytes.length != 32) {
            throw new IllegalArgumentException(name + " must be 32 bytes of base64url");
        }
        return bytes;
    }

    private static boolean pairs(ECPrivateKey privateKey, ECPublicKey publicKey) {
        try {
            byte[] probe = "tandem vapid key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(privateKey);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance("SHA256withECDSA");
            v.initVerify(publicKey);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
