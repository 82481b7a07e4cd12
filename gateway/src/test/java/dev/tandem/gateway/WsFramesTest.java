package dev.tandem.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

class WsFramesTest {

    /** Reads the frames back as RFC 6455 says a client does. */
    private static List<byte[]> parse(byte[] wire) {
        ByteBuffer b = ByteBuffer.wrap(wire);
        List<byte[]> frames = new ArrayList<>();
        while (b.hasRemaining()) {
            assertEquals(0x81, b.get() & 0xFF, "FIN + text opcode");
            int first = b.get() & 0xFF;
            assertEquals(0, first & 0x80, "server frames are not masked");
            long len = first & 0x7F;
            if (len == 126) {
                len = b.getShort() & 0xFFFF;
            } else if (len == 127) {
                len = b.getLong();
            }
            byte[] payload = new byte[(int) len];
            b.get(payload);
            frames.add(payload);
        }
        return frames;
    }

    @Test
    void framesOfEveryLengthClassReadBackInOrder() {
        List<byte[]> payloads = new ArrayList<>();
        for (int len : new int[] {0, 1, 125, 126, 127, 65_535, 65_536, 200_000}) {
            byte[] p = new byte[len];
            Arrays.fill(p, (byte) ('a' + len % 26));
            payloads.add(p);
        }
        List<byte[]> back = parse(WsFrames.text(payloads, p -> p));
        assertEquals(payloads.size(), back.size());
        for (int i = 0; i < payloads.size(); i++) {
            assertArrayEquals(payloads.get(i), back.get(i), "frame " + i);
        }
    }

    @Test
    void headersUseTheShortestLengthEncoding() {
        assertEquals(2, WsFrames.headerLength(125));
        assertEquals(4, WsFrames.headerLength(126));
        assertEquals(4, WsFrames.headerLength(65_535));
        assertEquals(10, WsFrames.headerLength(65_536));
    }
}
