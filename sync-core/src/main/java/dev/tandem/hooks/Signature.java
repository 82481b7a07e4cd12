package dev.tandem.hooks;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The HMAC-SHA256 signature of every hook and webhook request, so a backend can tell that a
 * call comes from its gateways and was not replayed long after: header
 * {@value #SIGNATURE_HEADER} is {@code sha256=} and the lower-case hex HMAC-SHA256, keyed with
 * the shared secret, of the {@value #TIMESTAMP_HEADER} header's value (Unix seconds), a dot, and
 * the request body's bytes. A backend recomputes it, compares in constant time, and refuses
 * timestamps too far from its clock.
 */
public final class Signature {
    /** The header carrying the signature. */
    public static final String SIGNATURE_HEADER = "X-Tandem-Signature";
    /** The header carrying the signing time (Unix seconds). */
    public static final String TIMESTAMP_HEADER = "X-Tandem-Timestamp";
    /** The header carrying the request id (also in the body as {@code requestId}). */
    public static final String REQUEST_ID_HEADER = "X-Tandem-Request-Id";

    private static final String ALGORITHM = "HmacSHA256";

    private final SecretKeySpec key;

    /**
     * A signer with the shared secret.
     *
     * @throws IllegalArgumentException for a secret shorter than 16 bytes
     */
    public Signature(String secret) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < 16) {
            throw new IllegalArgumentException("the hook secret must have at least 16 bytes (32 or more recommended)");
        }
        this.key = new SecretKeySpec(bytes, ALGORITHM);
    }

    /** The {@value #SIGNATURE_HEADER} value for a body signed at {@code unixSeconds}. */
    public String sign(long unixSeconds, byte[] body) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            mac.update((unixSeconds + ".").getBytes(StandardCharsets.US_ASCII));
            return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    /** Whether {@code header} is the signature of the body at {@code unixSeconds} (constant time). */
    public boolean verify(long unixSeconds, byte[] body, String header) {
        return java.security.MessageDigest.isEqual(sign(unixSeconds, body).getBytes(StandardCharsets.US_ASCII),
                header.getBytes(StandardCharsets.US_ASCII));
    }
}
