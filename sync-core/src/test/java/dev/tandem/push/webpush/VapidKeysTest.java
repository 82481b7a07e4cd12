package dev.tandem.push.webpush;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The VAPID key pair survives its file, is never overwritten, and gives browsers the uncompressed point. */
class VapidKeysTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void aSavedPairLoadsAsTheSamePairFromAPrivateJwkReadableByItsOwnerOnly() throws Exception {
        VapidKeys keys = VapidKeys.generate();
        Path file = dir.resolve("keys/vapid.json");
        keys.save(file);

        JsonNode jwk = JSON.readTree(file.toFile());
        assertEquals("EC", jwk.get("kty").asText());
        assertEquals("P-256", jwk.get("crv").asText());
        assertEquals(32, Subscriber.unb64(jwk.get("d").asText()).length);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

        VapidKeys loaded = VapidKeys.load(file);
        assertEquals(keys.publicKeyBase64Url(), loaded.publicKeyBase64Url());
        assertEquals(keys.publicKey(), loaded.publicKey());
    }

    @Test
    void thePublicKeyIsTheUncompressedPointInBase64Url() throws Exception {
        VapidKeys keys = VapidKeys.generate();
        byte[] point = Subscriber.unb64(keys.publicKeyBase64Url());
        assertEquals(65, point.length);
        assertEquals(4, point[0]);
        assertArrayEquals(Subscriber.point(keys.publicKey()), point);
        assertEquals(keys.publicKey(), Subscriber.publicKeyOf(point));
    }

    @Test
    void loadOrCreateMakesAPairOnceAndKeepsIt() throws Exception {
        Path file = dir.resolve("vapid.json");
        VapidKeys first = VapidKeys.loadOrCreate(file);
        VapidKeys again = VapidKeys.loadOrCreate(file);
        assertEquals(first.publicKeyBase64Url(), again.publicKeyBase64Url());
        assertThrows(FileAlreadyExistsException.class, () -> VapidKeys.generate().save(file));
        assertEquals(first.publicKeyBase64Url(), VapidKeys.load(file).publicKeyBase64Url());
    }

    @Test
    void aFileWhosePartsDoNotBelongTogetherIsRefused() throws Exception {
        Path a = dir.resolve("a.json");
        Path b = dir.resolve("b.json");
        VapidKeys.generate().save(a);
        VapidKeys.generate().save(b);
        ObjectNode mixed = (ObjectNode) JSON.readTree(a.toFile());
        mixed.put("d", JSON.readTree(b.toFile()).get("d").asText());
        Path bad = dir.resolve("mixed.json");
        Files.writeString(bad, mixed.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VapidKeys.load(bad));
        assertNotEquals(-1, e.getMessage().indexOf("does not belong"), e.getMessage());

        Path notJwk = dir.resolve("rsa.json");
        Files.writeString(notJwk, "{\"kty\":\"RSA\"}");
        assertThrows(IllegalArgumentException.class, () -> VapidKeys.load(notJwk));
        Path notJson = dir.resolve("pem.json");
        Files.writeString(notJson, "-----BEGIN PRIVATE KEY-----");
        assertThrows(IllegalArgumentException.class, () -> VapidKeys.load(notJson));
    }

    @Test
    void theTextOfTheKeysNeverShowsThePrivatePart() throws Exception {
        VapidKeys keys = VapidKeys.generate();
        Path file = dir.resolve("v.json");
        keys.save(file);
        String d = JSON.readTree(file.toFile()).get("d").asText();
        assertEquals(-1, keys.toString().indexOf(d));
    }
}
