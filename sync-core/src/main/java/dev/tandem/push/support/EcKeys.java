package dev.tandem.push.support;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * P-256 keys as the push protocols carry them (base64url, the 65-byte uncompressed point, the
 * 32-byte private scalar) and PKCS#8 PEM private keys (an APNs {@code .p8} file, a Google service
 * account's {@code private_key}), with the JDK's providers only.
 */
public final class EcKeys {
    /** Length of an uncompressed P-256 point: {@code 0x04 || X || Y}. */
    public static final int POINT_BYTES = 65;

    private static final ECParameterSpec P256 = loadP256();
    private static final BigInteger P = ((java.security.spec.ECFieldFp) P256.getCurve().getField()).getP();

    private EcKeys() {
    }

    /** The P-256 (secp256r1) parameters. */
    public static ECParameterSpec p256() {
        return P256;
    }

    private static ECParameterSpec loadP256() {
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec("secp256r1"));
            return params.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no P-256", e);
        }
    }

    /** A new P-256 key pair from the JDK's default secure random. */
    public static KeyPair generate() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(P256);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate a P-256 key pair", e);
        }
    }

    /**
     * The public key of an uncompressed point.
     *
     * @throws IllegalArgumentException when the bytes are not 65, do not start with 4, or the point
     *                                  is not on the curve
     */
    public static ECPublicKey publicKey(byte[] point) {
        if (point.length != POINT_BYTES || point[0] != 0x04) {
            throw new IllegalArgumentException("not an uncompressed P-256 point");
        }
        BigInteger x = new BigInteger(1, Arrays.copyOfRange(point, 1, 33));
        BigInteger y = new BigInteger(1, Arrays.copyOfRange(point, 33, 65));
        if (!onCurve(x, y)) {
            throw new IllegalArgumentException("the point is not on P-256");
        }
        try {
            return (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), P256));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a P-256 public key", e);
        }
    }

    /** The uncompressed point of a public key (65 bytes). */
    public static byte[] point(ECPublicKey key) {
        byte[] out = new byte[POINT_BYTES];
        out[0] = 0x04;
        copyFixed(key.getW().getAffineX(), out, 1);
        copyFixed(key.getW().getAffineY(), out, 33);
        return out;
    }

    /** The private key of a 32-byte scalar. */
    public static ECPrivateKey privateKey(byte[] scalar) {
        if (scalar.length != 32) {
            throw new IllegalArgumentException("a P-256 private key is 32 bytes");
        }
        try {
            return (ECPrivateKey) KeyFactory.getInstance("EC").generatePrivate(
                    new ECPrivateKeySpec(new BigInteger(1, scalar), P256));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a P-256 private key", e);
        }
    }

    /** The 32-byte scalar of a private key. */
    public static byte[] scalar(ECPrivateKey key) {
        byte[] out = new byte[32];
        copyFixed(key.getS(), out, 0);
        return out;
    }

    /**
     * A PKCS#8 private key in PEM ({@code -----BEGIN PRIVATE KEY-----}).
     *
     * @param algorithm {@code EC} or {@code RSA}
     * @param what      what the key is, for the error message (never the key itself)
     */
    public static PrivateKey pkcs8Pem(String pem, String algorithm, String what) {
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new IllegalArgumentException(what + " is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)");
        }
        String body = pem.substring(from + begin.length(), to).replaceAll("\\s", "");
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not a readable " + algorithm + " private key");
        }
        if (key instanceof ECPrivateKey ec && !ec.getParams().getCurve().equals(P256.getCurve())) {
            throw new IllegalArgumentException(what + " is not a P-256 key");
        }
        return key;
    }

    /** Base64url without padding. */
    public static String base64Url(byte[] bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /**
     * Decodes base64url, with or without padding.
     *
     * @throws IllegalArgumentException when the text is not base64url
     */
    public static byte[] base64Url(String text) {
        return Base64.getUrlDecoder().decode(text);
    }

    private static boolean onCurve(BigInteger x, BigInteger y) {
        if (x.signum() < 0 || x.compareTo(P) >= 0 || y.signum() < 0 || y.compareTo(P) >= 0) {
            return false;
        }
        BigInteger a = P256.getCurve().getA();
        BigInteger b = P256.getCurve().getB();
        BigInteger left = y.multiply(y).mod(P);
        BigInteger right = x.pow(3).add(a.multiply(x)).add(b).mod(P);
        return left.equals(right);
    }

    private static void copyFixed(BigInteger value, byte[] out, int offset) {
        byte[] raw = value.toByteArray();
        int len = Math.min(raw.length, 32);
        System.arraycopy(raw, raw.length - len, out, offset + 32 - len, len);
    }
}
