package dev.tandem.push.webpush;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;

import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import dev.tandem.push.support.EcKeys;

/**
 * Message encryption for Web Push (RFC 8291): an ephemeral ECDH with the subscriber's P-256 key,
 * keys derived with HKDF-SHA-256 from the shared secret and the subscription's auth secret, and one
 * {@code aes128gcm} record (RFC 8188) whose header carries the salt, the record size and the
 * ephemeral public key as key id.
 */
final class MessageEncryption {
    /** Largest plaintext one record can carry: 4096 − 86 (header) − 16 (tag) − 1 (delimiter). */
    static final int MAX_PLAINTEXT = 3993;
    /** The record size written in the header. */
    static final int RECORD_SIZE = 4096;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] KEY_INFO = "WebPush: info\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CEK_INFO = "Content-Encoding: aes128gcm\0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NONCE_INFO = "Content-Encoding: nonce\0".getBytes(StandardCharsets.US_ASCII);

    private MessageEncryption() {
    }

    /** Encrypts for the subscriber with a fresh ephemeral key pair and salt. */
    static byte[] encrypt(byte[] plaintext, byte[] uaPublic, byte[] authSecret) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return encrypt(plaintext, uaPublic, authSecret, EcKeys.generate(), salt);
    }

    /**
     * Encrypts with the given ephemeral key pair and salt (both must be fresh for every message;
     * fixed ones are for checking against the RFC's example).
     *
     * @throws IllegalArgumentException when the plaintext exceeds {@link #MAX_PLAINTEXT}
     */
    static byte[] encrypt(byte[] plaintext, byte[] uaPublic, byte[] authSecret, KeyPair ephemeral, byte[] salt) {
        if (plaintext.length > MAX_PLAINTEXT) {
            throw new IllegalArgumentException("a web push payload is at most " + MAX_PLAINTEXT + " bytes");
        }
        byte[] asPublic = EcKeys.point((ECPublicKey) ephemeral.getPublic());
        try {
            KeyAgreement ecdh = KeyAgreement.getInstance("ECDH");
            ecdh.init(ephemeral.getPrivate());
            ecdh.doPhase(EcKeys.publicKey(uaPublic), true);
            byte[] sharedSecret = ecdh.generateSecret();

            // IKM = HKDF(salt = auth_secret, ikm = ecdh_secret, info = "WebPush: info" 0 ua_public as_public, 32)
            byte[] prkKey = hmac(authSecret, sharedSecret);
            byte[] ikm = hmac(prkKey, concat(KEY_INFO, uaPublic, asPublic, new byte[] {1}));
            // CEK and NONCE = HKDF(salt, IKM, "Content-Encoding: ..." 0, 16 and 12)
            byte[] prk = hmac(salt, ikm);
            byte[] cek = Arrays.copyOf(hmac(prk, concat(CEK_INFO, new byte[] {1})), 16);
            byte[] nonce = Arrays.copyOf(hmac(prk, concat(NONCE_INFO, new byte[] {1})), 12);

            // one record, the last: the plaintext then the delimiter 0x02 (no padding)
            Cipher aes = Cipher.getInstance("AES/GCM/NoPadding");
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(cek, "AES"), new GCMParameterSpec(128, nonce));
            byte[] record = aes.doFinal(concat(plaintext, new byte[] {2}));

            return ByteBuffer.allocate(16 + 4 + 1 + asPublic.length + record.length)
                    .put(salt).putInt(RECORD_SIZE).put((byte) asPublic.length).put(asPublic).put(record)
                    .array();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("web push encryption failed", e);
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }
}
