package dev.tandem.delta;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import static dev.tandem.delta.Samples.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The vectors the TypeScript client's tests decode: (source, target, delta) triples that this
 * encoder makes from seeded inputs, kept in {@code typescript/test/fixtures/fossil-vectors.json},
 * and those Fossil itself made, in {@code fossil-reference.json}. The committed file must be what
 * the encoder makes now, so the TypeScript decoder is always checked against the current
 * encoder; after an intended change of the encoder, rewrite it with
 * {@code -Dfossil.vectors.write=true} and commit it.
 */
class FossilVectorsTest {
    static final Path FIXTURES = Path.of("..", "typescript", "test", "fixtures");
    private static final ObjectMapper JSON = new ObjectMapper();

    record Case(String name, byte[] source, byte[] target) {
    }

    /** Seeded and hand-picked inputs: empty, identical, completely different, JSON-shaped, Unicode, binary, large. */
    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        String stock = Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 24, 18.5, 12);
        cases.add(new Case("empty to empty", new byte[0], new byte[0]));
        cases.add(new Case("empty source", new byte[0], utf8(stock)));
        cases.add(new Case("empty target", utf8(stock), new byte[0]));
        cases.add(new Case("source no longer than the window", utf8("{\"qty\":7,\"a\":1}"), utf8("{\"qty\":8,\"a\":1}")));
        cases.add(new Case("identical stock level", utf8(stock), utf8(stock)));
        cases.add(new Case("stock level, quantity changed", utf8(stock),
                utf8(Samples.stockLevel("A-1", "Pallet wrap, 500 mm", 21, 18.5, 13))));
        cases.add(new Case("stock level, another sku", utf8(stock),
                utf8(Samples.stockLevel("B-7", "Cable ties, 200 pcs", 120, 6.9, 4))));
        String doc = Samples.document(new Random(4096), 4096, 7, "draft");
        cases.add(new Case("4 KB document, identical", utf8(doc), utf8(doc)));
        cases.add(new Case("4 KB document, one field changed", utf8(doc), utf8(Samples.document(new Random(4096), 4096, 8, "approved"))));
        cases.add(new Case("4 KB document, unicode value", utf8(doc), utf8(Samples.document(new Random(4096), 4096, 8, "geprüft ✅ 済"))));
        Random different = new Random(1);
        cases.add(new Case("completely different text", utf8(Samples.text(different, 600, 50)), utf8(Samples.text(different, 700, 50))));
        cases.add(new Case("completely different bytes", Samples.bytes(different, 900), Samples.bytes(different, 800)));
        Random large = new Random(2);
        String big = Samples.text(large, 12_000, 300);
        cases.add(new Case("large text, scattered edits", utf8(big), utf8(Samples.edit(large, big, 25, 40))));
        for (int seed = 0; seed < 40; seed++) {
            Random r = new Random(1000 + seed);
            String source = Samples.text(r, r.nextInt(700), 1 + r.nextInt(60));
            cases.add(new Case("unicode text edits, seed " + seed, utf8(source), utf8(Samples.edit(r, source, r.nextInt(8), 1 + r.nextInt(30)))));
        }
        for (int seed = 0; seed < 30; seed++) {
            Random r = new Random(2000 + seed);
            int version = 1 + r.nextInt(500);
            String source = Samples.document(new Random(seed), 250 + r.nextInt(1200), version, Samples.word(r, 3 + r.nextInt(20)));
            cases.add(new Case("json edits, seed " + seed, utf8(source), utf8(Samples.edit(r, source, 1 + r.nextInt(4), 1 + r.nextInt(12)))));
        }
        for (int seed = 0; seed < 30; seed++) {
            Random r = new Random(3000 + seed);
            byte[] source = Samples.bytes(r, r.nextInt(800));
            cases.add(new Case("binary edits, seed " + seed, source, Samples.edit(r, source, r.nextInt(6), 1 + r.nextInt(40))));
        }
        return cases;
    }

    /** The vectors file as this encoder makes it: one vector a line. */
    static String render(List<Case> cases) throws IOException {
        StringBuilder b = new StringBuilder("{\n  \"about\": \"(source, target, delta) made by dev.tandem.delta.Fossil from the seeded inputs of"
                + " FossilVectorsTest; encoding: utf-8 when all three are UTF-8 text, else base64\",\n  \"vectors\": [\n");
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            byte[] delta = Fossil.encode(c.source(), c.target());
            boolean text = isUtf8(c.source()) && isUtf8(c.target()) && isUtf8(delta);
            ObjectNode v = JSON.createObjectNode().put("name", c.name()).put("encoding", text ? "utf-8" : "base64");
            v.put("source", encode(c.source(), text)).put("target", encode(c.target(), text)).put("delta", encode(delta, text));
            b.append("    ").append(JSON.writeValueAsString(v)).append(i + 1 < cases.size() ? ",\n" : "\n");
        }
        return b.append("  ]\n}\n").toString();
    }

    @Test
    void theCommittedVectorsAreWhatTheEncoderMakesNow() throws IOException {
        Path file = FIXTURES.resolve("fossil-vectors.json");
        String now = render(cases());
        if (Boolean.getBoolean("fossil.vectors.write")) {
            Files.writeString(file, now);
        }
        assertTrue(Files.exists(file), "no " + file.toAbsolutePath() + ": run this test with -Dfossil.vectors.write=true");
        if (!now.equals(Files.readString(file))) {
            fail(file + " is not what the encoder makes now; if the encoder's change is intended, rewrite the file with"
                    + " -Dfossil.vectors.write=true and commit it (the TypeScript tests decode it)");
        }
    }

    @Test
    void everyVectorAppliesToItsTarget() throws IOException {
        JsonNode vectors = JSON.readTree(FIXTURES.resolve("fossil-vectors.json").toFile()).get("vectors");
        Set<String> names = new HashSet<>();
        for (JsonNode v : vectors) {
            assertTrue(names.add(v.get("name").asText()), "two vectors named " + v.get("name"));
            assertArrayEquals(bytes(v, "target"), Fossil.apply(bytes(v, "source"), bytes(v, "delta")), v.get("name").asText());
        }
        assertEquals(cases().size(), names.size());
        assertTrue(vectors.size() > 100);
    }

    @Test
    void deltasMadeByFossilItselfApply() throws IOException {
        JsonNode vectors = JSON.readTree(FIXTURES.resolve("fossil-reference.json").toFile()).get("vectors");
        assertTrue(vectors.size() >= 8);
        for (JsonNode v : vectors) {
            assertArrayEquals(bytes(v, "target"), Fossil.apply(bytes(v, "source"), bytes(v, "delta")), v.get("name").asText());
        }
    }

    static byte[] bytes(JsonNode vector, String field) {
        String s = vector.get(field).asText();
        return vector.get("encoding").asText().equals("utf-8") ? utf8(s) : Base64.getDecoder().decode(s);
    }

    private static String encode(byte[] b, boolean text) {
        return text ? new String(b, StandardCharsets.UTF_8) : Base64.getEncoder().encodeToString(b);
    }

    static boolean isUtf8(byte[] b) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }
}
