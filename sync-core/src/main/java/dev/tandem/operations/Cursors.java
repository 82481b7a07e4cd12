package dev.tandem.operations;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * The paging cursors clients hold ({@code doc.query}'s {@code next}, a history page's
 * {@code next}): the position the store gave, encrypted and authenticated (AES-GCM) with a key
 * derived from the configured secret and bound to what was asked (tenant, operation and its
 * parameters). A cursor tells nothing about the position (no id of a document the caller may
 * not read), and one that was altered, forged or made for another query is {@code bad_request}.
 * Without a configured secret each node draws its own at start: cursors then hold on that node
 * until it restarts, so a cluster configures one secret on every node.
 */
final class Cursors {
    private static final int NONCE = 12;
    private static final int TAG_BITS = 128;

    private final SecretKeySpec key;
    private final SecureRandom random = new SecureRandom();

    private Cursors(byte[] keyBytes) {
        this.key = new SecretKeySpec(keyBytes, "AES");
    }

    /**
     * Cursors under the configured secret, or under one drawn for this node.
     *
     * @throws IllegalArgumentException for a secret shorter than 32 characters
     */
    static Cursors create(Optional<String> secret) {
        byte[] material;
        if (secret.isPresent()) {
            if (secret.get().length() < 32) {
                throw new IllegalArgumentException("tandem.documents.cursor-secret must have at least 32 characters");
            }
            material = secret.get().getBytes(StandardCharsets.UTF_8);
        } else {
            material = new byte[32];
            new SecureRandom().nextBytes(material);
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(material, "HmacSHA256"));
            return new Cursors(mac.doFinal("tandem document cursors v1".getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no HmacSHA256", e);
        }
    }

    /** The cursor of a position, for the query named by {@code scope}. */
    String seal(String scope, String position) {
        byte[] nonce = new byte[NONCE];
        random.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(scope.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = c.doFinal(position.getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(ByteBuffer.allocate(NONCE + sealed.length)
                    .put(nonce).put(sealed).array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM failed", e);
        }
    }

    /**
     * The position of a cursor made by {@link #seal} for the same scope.
     *
     * @throws ProtocolException {@code BAD_REQUEST} for anything else
     */
    String open(String scope, String cursor) {
        try {
            byte[] all = Base64.getUrlDecoder().decode(cursor);
            if (all.length <= NONCE) {
                throw invalid();
            }
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, all, 0, NONCE));
            c.updateAAD(scope.getBytes(StandardCharsets.UTF_8));
            return new String(c.doFinal(all, NONCE, all.length - NONCE), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw invalid();
        }
    }

    private static ProtocolException invalid() {
        return new ProtocolException(ErrorCode.BAD_REQUEST, "invalid cursor: use the 'next' of the same query's previous page");
    }
}
