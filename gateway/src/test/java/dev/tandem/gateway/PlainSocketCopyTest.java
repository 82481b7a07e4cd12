package dev.tandem.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URL;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import io.helidon.common.socket.PlainSocket;

import org.junit.jupiter.api.Test;

/**
 * The gateway's copy of Helidon's {@code PlainSocket} (smaller per-socket read buffer): it is the
 * one loaded, it still matches the Helidon class it was copied from, and it reads what was sent.
 */
class PlainSocketCopyTest {
    private static final String RESOURCE = "io/helidon/common/socket/PlainSocket.class";
    /** SHA-256 of PlainSocket.class in helidon-common-socket-4.1.2.jar, the class the copy is made from. */
    private static final String COPIED_FROM = "f8e10cbbd5110316dbb83f419dadea9b19c9c5a885b4d716d83290952f3e7fc2";

    @Test
    void theCopyIsLoadedInsteadOfHelidons() {
        URL loaded = PlainSocket.class.getProtectionDomain().getCodeSource().getLocation();
        assertTrue(!loaded.toString().contains("helidon-common-socket"), "PlainSocket came from " + loaded);
    }

    @Test
    void helidonsClassIsStillTheOneTheCopyWasMadeFrom() throws Exception {
        List<URL> all = Collections.list(PlainSocketCopyTest.class.getClassLoader().getResources(RESOURCE));
        URL upstream = all.stream().filter(u -> u.toString().contains("helidon-common-socket")).findFirst()
                .orElseThrow(() -> new AssertionError("no helidon-common-socket jar among " + all));
        byte[] bytes;
        try (InputStream in = upstream.openStream()) {
            bytes = in.readAllBytes();
        }
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        assertEquals(COPIED_FROM, sha, "Helidon's PlainSocket changed (" + upstream + "): copy the new version into "
                + "gateway/src/main/java/io/helidon/common/socket/PlainSocket.java, re-apply the read-buffer change "
                + "and record the new hash here");
    }

    @Test
    void anIdleSocketKeepsHalfAKilobyteNotEight() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket accepted = server.accept()) {
            PlainSocket socket = PlainSocket.server(accepted, "c", "s");
            Field f = PlainSocket.class.getDeclaredField("readBuffer");
            f.setAccessible(true);
            assertEquals(512, ((byte[]) f.get(socket)).length);
        }
    }

    @Test
    void readsEverySizeIntactAcrossTheSmallAndLargeBuffers() throws Exception {
        byte[] sent = new byte[200_000];
        new Random(7).nextBytes(sent);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket accepted = server.accept()) {
            PlainSocket socket = PlainSocket.server(accepted, "c", "s");
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    OutputStream out = client.getOutputStream();
                    // small and large writes, so reads both fill and do not fill the buffers
                    int[] sizes = {1, 511, 512, 513, 8192, 100, 8193, 50_000};
                    int at = 0;
                    for (int i = 0; at < sent.length; i++) {
                        int n = Math.min(sizes[i % sizes.length], sent.length - at);
                        out.write(sent, at, n);
                        out.flush();
                        at += n;
                    }
                    client.shutdownOutput();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            int largest = 0;
            for (byte[] chunk = socket.get(); chunk != null; chunk = socket.get()) {
                assertNotNull(chunk);
                assertTrue(chunk.length > 0);
                largest = Math.max(largest, chunk.length);
                got.write(chunk);
            }
            writer.join();
            assertArrayEquals(sent, got.toByteArray());
            // after a full small read the next read takes up to Helidon's 8 KiB at once
            assertEquals(8192, largest);
            assertNull(socket.get());
        }
    }
}
