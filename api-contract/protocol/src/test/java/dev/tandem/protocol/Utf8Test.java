package dev.tandem.protocol;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Utf8Test {
    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "plain ascii", "Grüße", "€ and 中文", "emoji 😀 at the edge 𐀀", "\uFFFD is a character too",
            "\uD7FF\uE000\uFFFF", "\uDBFF\uDFFF"})
    void acceptsWellFormedTextAndDecodesItUnchanged(String text) {
        assertEquals(text, Utf8.decode(text.getBytes(StandardCharsets.UTF_8)));
    }

    @ParameterizedTest
    @CsvSource({
            // an overlong 'b' inside a tenant id: decoded leniently it becomes "globex"
            "676c6fc1a26578, 3",
            // an overlong ':' (a channel separator), two-, three- and four-byte forms
            "6c6f63c0ba31, 3",
            "6c6f63e080ba31, 3",
            "6c6f63f08080ba31, 3",
            // encoded surrogates (CESU-style) are not UTF-8
            "eda080, 0",
            "edbfbf, 0",
            // above U+10FFFF
            "f4908080, 0",
            "f5808080, 0",
            // a continuation byte without a lead, a truncated sequence, a lead followed by ASCII
            "61 80 62, 1",
            "61 e282, 1",
            "e2 28 a1, 0",
            "ff, 0"})
    void refusesAnythingButWellFormedUtf8AndNamesTheByte(String bytes, int at) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> Utf8.decode(hex(bytes)));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertTrue(e.getMessage().contains("not valid UTF-8 (byte " + at + ")"), e.getMessage());
    }

    @Test
    void agreesWithTheJdksStrictDecoderOnEveryTwoAndThreeByteSequence() throws Exception {
        var strict = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
        byte[] three = new byte[3];
        for (int a = 0x80; a < 0x100; a++) {
            for (int b = 0; b < 0x100; b += 3) {
                for (int c = 0x70; c < 0xC8; c += 5) {
                    three[0] = (byte) a;
                    three[1] = (byte) b;
                    three[2] = (byte) c;
                    boolean jdk;
                    try {
                        strict.decode(java.nio.ByteBuffer.wrap(three));
                        jdk = true;
                    } catch (java.nio.charset.CharacterCodingException e) {
                        jdk = false;
                    }
                    assertEquals(jdk, Utf8.firstInvalid(three) < 0, HexFormat.of().formatHex(three));
                }
            }
        }
    }
}
