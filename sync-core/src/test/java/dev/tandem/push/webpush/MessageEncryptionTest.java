package dev.tandem.push.webpush;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECPrivateKeySpec;

import javax.crypto.AEADBadTagException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Web Push message encryption gives RFC 8291's example byte for byte, and what a subscriber decrypts. */
class MessageEncryptionTest {
    // RFC 8291, Appendix A
    private static final String PLAINTEXT = "When I grow up, I want to be a watermelon";
    private static final String AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    private static final String AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    private static final String UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    private static final String UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private static final String AUTH = "BTBZMqHH6r4Tts7J_aSIgg";
    private static final String SALT = "DGv6ra1nlYgDCS1FRnbzlw";
    private static final String BODY = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLo"
            + "cInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    @Test
    void encryptingTheRfcExampleGivesTheRfcBody() throws Exception {
        KeyPair ephemeral = new KeyPair(Subscriber.publicKeyOf(Subscriber.unb64(AS_PUBLIC)), privateKey(AS_PRIVATE));
        byte[] body = MessageEncryption.encrypt(PLAINTEXT.getBytes(StandardCharsets.UTF_8), Subscriber.unb64(UA_PUBLIC),
                Subscriber.unb64(AUTH), ephemeral, Subscriber.unb64(SALT));
        assertEquals(BODY, Subscriber.b64(body));
    }

    @Test
    void theTestSubscriberDecryptsTheRfcExample() throws Exception {
        // the decryption the other tests rely on is checked against the RFC too
        Subscriber ua = new Subscriber(privateKey(UA_PRIVATE), Subscriber.publicKeyOf(Subscriber.unb64(UA_PUBLIC)),
                Subscriber.unb64(AUTH));
        assertEquals(PLAINTEXT, new String(ua.decrypt(Subscriber.unb64(BODY)), StandardCharsets.UTF_8));
    }

    @Test
    void aMessageDecryptsForItsSubscriberOnlyAndNeverRepeats() throws Exception {
        Subscriber ua = Subscriber.create();
        byte[] plain = "{\"title\":\"Stock low\"}".getBytes(StandardCharsets.UTF_8);
        byte[] one = MessageEncryption.encrypt(plain, Subscriber.point(ua.publicKey), ua.authSecret);
        byte[] two = MessageEncryption.encrypt(plain, Subscriber.point(ua.publicKey), ua.authSecret);
        assertArrayEquals(plain, ua.decrypt(one));
        assertArrayEquals(plain, ua.decrypt(two));
        assertFalse(java.util.Arrays.equals(one, two), "a fresh salt and ephemeral key per message");

        Subscriber other = Subscriber.create();
        Subscriber sameKeyOtherSecret = new Subscriber(ua.privateKey, ua.publicKey, other.authSecret);
        assertThrows(AEADBadTagException.class, () -> other.decrypt(one));
        assertThrows(AEADBadTagException.class, () -> sameKeyOtherSecret.decrypt(one));
    }

    @Test
    void theLargestPayloadFillsOneRecordOf4096Bytes() throws Exception {
        Subscriber ua = Subscriber.create();
        byte[] largest = new byte[MessageEncryption.MAX_PLAINTEXT];
        java.util.Arrays.fill(largest, (byte) 'x');
        byte[] body = MessageEncryption.encrypt(largest, Subscriber.point(ua.publicKey), ua.authSecret);
        assertEquals(4096, body.length);
        assertArrayEquals(largest, ua.decrypt(body));
        assertThrows(IllegalArgumentException.class, () -> MessageEncryption.encrypt(new byte[largest.length + 1],
                Subscriber.point(ua.publicKey), ua.authSecret));
    }

    private static ECPrivateKey privateKey(String d) throws Exception {
        var params = ((ECPublicKey) Subscriber.publicKeyOf(Subscriber.unb64(UA_PUBLIC))).getParams();
        return (ECPrivateKey) KeyFactory.getInstance("EC")
                .generatePrivate(new ECPrivateKeySpec(new BigInteger(1, Subscriber.unb64(d)), params));
    }
}
