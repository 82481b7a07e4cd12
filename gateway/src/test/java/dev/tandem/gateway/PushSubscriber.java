package dev.tandem.gateway;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;

import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * What a browser holds for one push subscription, written here from the RFCs alone (not the
 * gateway's code): a P-256 key pair and a 16-byte authentication secret; it decrypts what a push
 * service hands it (RFC 8291, {@code aes128gcm} of RFC 8188) and checks a VAPID token (RFC 8292).
 */
final class PushSubscriber {
    private final KeyPair keys;
    private final byte[] auth = new byte[16];

    PushSubscriber() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        this.keys = g.generateKeyPair();
        new SecureRandom().nextBytes(auth);
    }

    /** {@code keys.p256dh}: the uncompressed public point, base64url. */
    String p256dh() {
        return b64(point((ECPublicKey) keys.getPublic()));
    }

    /** {@code keys.auth}, base64url. */
    String auth() {
        return b64(auth);
    }

    /** The registration body of a subscription at this endpoint. */
    String registration(String endpoint) {
        return "{\"kind\":\"webpush\",\"endpoint\":\"" + endpoint + "\",\"keys\":{\"p256dh\":\"" + p256dh()
                + "\",\"auth\":\"" + auth() + "\"}}";
    }

    /** Decrypts an {@code aes128gcm} body (one record) addressed to this subscription. */
    String decrypt(byte[] body) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(body);
        byte[] salt = new byte[16];
        in.get(salt);
        int recordSize = in.getInt();
        byte[] keyId = new byte[in.get() & 0xff];
        in.get(keyId);
        byte[] ciphertext = new byte[in.remaining()];
        in.get(ciphertext);
        if (keyId.length != 65 || recordSize < ciphertext.length) {
            throw new AssertionError("not an RFC 8291 header: keyid " + keyId.length + " bytes, rs " + recordSize);
        }
        KeyAgreement ka = KeyAgreement.getInstance("ECDH");
        ka.init(keys.getPrivate());
        ka.doPhase(publicKey(keyId), true);
        byte[] ecdhSecret = ka.generateSecret();
        byte[] keyInfo = concat("WebPush: info\0".getBytes(StandardCharsets.US_ASCII),
                point((ECPublicKey) keys.getPublic()), keyId);
        byte[] ikm = expand(hmac(auth, ecdhSecret), keyInfo, 32);
        byte[] prk = hmac(salt, ikm);
        byte[] cek = expand(prk, "Content-Encoding: aes128gcm\0".getBytes(StandardCharsets.US_ASCII), 16);
        byte[] nonce = expand(prk, "Content-Encoding: nonce\0".getBytes(StandardCharsets.US_ASCII), 12);
        Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
        aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(cek, "AES"), new GCMParameterSpec(128, nonce));
        byte[] padded = aes.doFinal(ciphertext);
        int end = padded.length - 1;
        while (end >= 0 && padded[end] == 0) {
            end--;
        }
        if (end < 0 || padded[end] != 2) {
            throw new AssertionError("the last record must end with the delimiter 0x02");
        }
        return new String(padded, 0, end, StandardCharsets.UTF_8);
    }

    /**
     * Checks a VAPID {@code Authorization} header against the served public key and the audience.
     *
     * @return the token's claims as JSON text
     */
    static String verifyVapid(String authorization, String publicKey, String audience) throws Exception {
        if (authorization == null || !authorization.startsWith("vapid ")) {
            throw new AssertionError("no vapid Authorization: " + authorization);
        }
        String t = null;
        String k = null;
        for (String part : authorization.substring(6).split(",")) {
            String p = part.trim();
            if (p.startsWith("t=")) {
                t = p.substring(2);
            } else if (p.startsWith("k=")) {
                k = p.substring(2);
            }
        }
        if (!publicKey.equals(k)) {
            throw new AssertionError("k= is not the served public key");
        }
        String[] jwt = t.split("\\.");
        String header = new String(unb64(jwt[0]), StandardCharsets.UTF_8);
        if (!header.contains("\"ES256\"")) {
            throw new AssertionError("the VAPID token is not ES256: " + header);
        }
        Signature verify = Signature.getInstance("SHA256withECDSAinP1363Format");
        verify.initVerify(publicKey(unb64(publicKey)));
        verify.update((jwt[0] + "." + jwt[1]).getBytes(StandardCharsets.US_ASCII));
        if (!verify.verify(unb64(jwt[2]))) {
            throw new AssertionError("the VAPID signature does not verify with the served public key");
        }
        String claims = new String(unb64(jwt[1]), StandardCharsets.UTF_8);
        if (!claims.contains("\"aud\":\"" + audience + "\"")) {
            throw new AssertionError("aud is not " + audience + ": " + claims);
        }
        return claims;
    }

    private static ECPublicKey publicKey(byte[] point) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        var params = ((ECPublicKey) g.generateKeyPair().getPublic()).getParams();
        ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOfRange(point, 1, 33)),
                new BigInteger(1, Arrays.copyOfRange(point, 33, 65)));
        return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, params));
    }

    private static byte[] point(ECPublicKey key) {
        byte[] out = new byte[65];
        out[0] = 4;
        fixed(key.getW().getAffineX(), out, 1);
        fixed(key.getW().getAffineY(), out, 33);
        return out;
    }

    private static void fixed(BigInteger v, byte[] out, int offset) {
        byte[] b = v.toByteArray();
        int n = Math.min(b.length, 32);
        System.arraycopy(b, b.length - n, out, offset + 32 - n, n);
    }

    private static byte[] hmac(byte[] key, byte[] data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data);
    }

    /** HKDF-Expand for one block (every length here is at most 32). */
    private static byte[] expand(byte[] prk, byte[] info, int length) throws Exception {
        return Arrays.copyOf(hmac(prk, concat(info, new byte[] {1})), length);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static byte[] unb64(String text) {
        return Base64.getUrlDecoder().decode(text);
    }
}
