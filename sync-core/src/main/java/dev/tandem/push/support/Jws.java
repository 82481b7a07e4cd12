package dev.tandem.push.support;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Compact JWS (RFC 7515) signing for the tokens the push services ask for: ES256 (VAPID, APNs),
 * with the signature as the raw {@code R || S} pair JWS requires, and RS256 (Google's OAuth2
 * service-account assertion).
 */
public final class Jws {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The signing algorithms used here. */
    public enum Alg {
        /** ECDSA on P-256 with SHA-256. */
        ES256("SHA256withECDSAinP1363Format"),
        /** RSASSA-PKCS1-v1_5 with SHA-256. */
        RS256("SHA256withRSA");

        private final String jca;

        Alg(String jca) {
            this.jca = jca;
        }
    }

    private Jws() {
    }

    /**
     * A signed token {@code base64url(header).base64url(claims).base64url(signature)}.
     *
     * @param extraHeader header fields besides {@code alg} (such as {@code typ} and {@code kid}), in order
     * @param claims      the claims, in order
     */
    public static String sign(Alg alg, Map<String, Object> extraHeader, Map<String, Object> claims, PrivateKey key) {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("alg", alg.name());
        header.putAll(extraHeader);
        String input = part(header) + "." + part(claims);
        try {
            Signature s = Signature.getInstance(alg.jca);
            s.initSign(key);
            s.update(input.getBytes(StandardCharsets.US_ASCII));
            return input + "." + EcKeys.base64Url(s.sign());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a " + alg + " token with the configured key", e);
        }
    }

    private static String part(Map<String, Object> json) {
        try {
            return EcKeys.base64Url(JSON.writeValueAsBytes(json));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("token fields not serializable", e);
        }
    }
}
