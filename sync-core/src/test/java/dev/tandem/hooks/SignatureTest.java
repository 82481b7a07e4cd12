package dev.tandem.hooks;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hook signature is what a backend computes with any HMAC-SHA256 library (here: openssl). */
class SignatureTest {
    private static final byte[] BODY = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);

    @Test
    void theSignatureIsTheHmacOfTheTimestampADotAndTheBody() {
        // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac "0123456789abcdef0123"
        Signature s = new Signature("0123456789abcdef0123");
        assertEquals("sha256=34e41bd41c08899dd901e050eca2824e8dfecfe16d4778add8a6f330817db525", s.sign(1700000000L, BODY));
        assertTrue(s.verify(1700000000L, BODY, s.sign(1700000000L, BODY)));
        assertFalse(s.verify(1700000001L, BODY, s.sign(1700000000L, BODY)), "the timestamp is signed");
        assertFalse(new Signature("another-secret-of-16+").verify(1700000000L, BODY, s.sign(1700000000L, BODY)));
    }

    @Test
    void aShortSecretIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Signature("short"));
    }
}
