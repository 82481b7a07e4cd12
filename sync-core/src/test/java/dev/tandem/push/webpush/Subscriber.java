package dev.tandem.push.webpush;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
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
 * The browser's side of a push subscription, written for the tests from RFC 8291 and RFC 8188 and
 * sharing no code with the provider: a P-256 key pair and an auth secret as {@code
 * pushManager.subscribe()} makes them, and the user agent's decryption of a received message.
 */
final class Subscriber {
    final ECPrivateKey privateKey;
    final ECPublicKey publicKey;
    final byte[] authSecret;

    Subscriber(ECPrivateKey privateKey, ECPublicKey publicKey, byte[] authSecret) {
        this.privateKey = privateKey;
        this.publicKey = publicKey;
        this.authSecret = authSecret;
    }

    /** A fresh subscription, as a browser makes one. */
    static Subscriber create() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair pair = g.generateKeyPair();
        byte[] auth = new byte[16];
        new SecureRandom().nextBytes(auth);
        return new Subscriber((ECPrivateKey) pair.getPrivate(), (ECPublicKey) pair.getPublic(), auth);
    }

    /** {@code keys.p256dh}: base64url of the uncompressed point. */
    String p256dh() {
        return b64(point(publicKey));
    }

    /** {@code keys.auth}: base64url of the secret. */
    String auth() {
        return b64(authSecret);
    }

    /**
     * Decrypts an {@code aes128gcm} push message body (one or more records) as the user agent does.
     *
     * @throws javax.crypto.AEADBadTagException when it was not encrypted for this subscription
     */
    byte[] decrypt(byte[] body) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(body);
        byte[] salt = new byte[16];
        in.get(salt);
        int rs = in.getInt();
        byte[] keyId = new byte[in.get() & 0xff];
        in.get(keyId);
        if (keyId.length != 65) {
            throw new IllegalArgumentException("RFC 8291: the keyid is the sender's 65-byte public key, was " + keyId.length);
        }
        KeyAgreement ka = KeyAgreement.getInstance("ECDH");
        ka.init(privateKey);
        ka.doPhase(publicKeyOf(keyId), true);
        byte[] ecdhSecret = ka.generateSecret();
        byte[] keyInfo = concat("WebPush: info\0".getBytes(StandardCharsets.US_ASCII), point(publicKey), keyId);
        byte[] ikm = hkdf(authSecret, ecdhSecret, keyInfo, 32);
        byte[] cek = hkdf(salt, ikm, "Content-Encoding: aes128gcm\0".getBytes(StandardCharsets.US_ASCII), 16);
        byte[] nonce = hkdf(salt, ikm, "Content-Encoding: nonce\0".getBytes(StandardCharsets.US_ASCII), 12);
        ByteBuffer out = ByteBuffer.allocate(body.length);
        for (long seq = 0; in.hasRemaining(); seq++) {
            byte[] record = new byte[Math.min(rs, in.remaining())];
            in.get(record);
            byte[] iv = nonce.clone();
            for (int i = 0; i < 8; i++) {
                iv[iv.length - 1 - i] ^= (byte) (seq >>> (8 * i));
            }
            Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
            aes.init(Cipher.DECRYPT_MODE, new SecretKeySpec(cek, "AES"), new GCMParameterSpec(128, iv));
            byte[] plain = aes.doFinal(record);
            int end = plain.length - 1;
            while (end >= 0 && plain[end] == 0) {
                end--; // padding
            }
            boolean last = !in.hasRemaining();
            if (end < 0 || plain[end] != (last ? 2 : 1)) {
                throw new IllegalArgumentException("RFC 8188: bad record delimiter");
            }
            out.put(plain, 0, end);
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    static byte[] point(ECPublicKey key) {
        byte[] out = new byte[65];
        out[0] = 4;
        fixed(key.getW().getAffineX(), out, 1);
        fixed(key.getW().getAffineY(), out, 33);
        return out;
    }

    static ECPublicKey publicKeyOf(byte[] point) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        var params = ((ECPublicKey) g.generateKeyPair().getPublic()).getParams();
        ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOfRange(point, 1, 33)),
                new BigInteger(1, Arrays.copyOfRange(point, 33, 65)));
        return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, params));
    }

    static String b64(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static byte[] unb64(String text) {
        return Base64.getUrlDecoder().decode(text);
    }

    /** HKDF-SHA-256 (RFC 5869) for outputs of at most 32 bytes. */
    private static byte[] hkdf(byte[] salt, byte[] ikm, byte[] info, int length) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salt, "HmacSHA256"));
        byte[] prk = mac.doFinal(ikm);
        mac.init(new SecretKeySpec(prk, "HmacSHA256"));
        mac.update(info);
        mac.update((byte) 1);
        return Arrays.copyOf(mac.doFinal(), length);
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer b = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    private static void fixed(BigInteger v, byte[] out, int offset) {
        byte[] raw = v.toByteArray();
        int len = Math.min(raw.length, 32);
        System.arraycopy(raw, raw.length - len, out, offset + 32 - len, len);
    }
}
