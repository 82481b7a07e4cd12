package dev.tandem.document;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decoding {@code doc.update} frames and {@code conflict.resolve} fields into the port's types. */
class DocOpTest {
    private final FrameCodec codec = FrameCodec.create();

    @Test
    void aPatchDecodesItsSetUnsetAndIncParts() {
        DocOp op = DocOp.from(update(12, "c9:118", null,
                "{\"set\":{\"name\":\"x\"},\"unset\":[\"old\"],\"inc\":{\"qty\":-3,\"w\":0.5}}"));
        assertEquals(new DocRef("stock_level", "A-1@wh-7"), op.ref());
        assertEquals(12, op.baseVersion());
        Edit.Patch p = assertInstanceOf(Edit.Patch.class, op.edit());
        assertEquals("x", p.set().get("name").textValue());
        assertEquals(Set.of("old"), p.unset());
        assertEquals(0, new BigDecimal("-3").compareTo(p.inc().get("qty")));
        assertEquals(0, new BigDecimal("0.5").compareTo(p.inc().get("w")));
    }

    @Test
    void dataReplacesAndDeleteIsAPatchOfItsOwn() {
        assertInstanceOf(Edit.Replace.class, DocOp.from(update(0, "a", "{\"x\":1}", null)).edit());
        assertInstanceOf(Edit.Delete.class, DocOp.from(update(3, "a", null, "{\"delete\":true}")).edit());
    }

    @Test
    void aSequencedOpIdNamesItsClientAndSequence() {
        assertEquals(Optional.of(new DocOp.Source("c9", 118)), op("c9:118").source());
        assertEquals(Optional.of(new DocOp.Source("user:phone", 7)), op("user:phone:7").source());
        assertEquals(Optional.empty(), op("3f2a-uuid").source());
        assertEquals(Optional.empty(), op("c9:0").source(), "sequences start at 1");
        assertEquals(Optional.empty(), op("c9:-1").source());
    }

    @Test
    void malformedOpsAreBadRequestsNamingTheProblem() {
        for (String patch : new String[] {"{}", "{\"set\":[]}", "{\"unset\":\"a\"}", "{\"unset\":[1]}",
                "{\"inc\":{\"q\":\"1\"}}", "{\"delete\":false}", "{\"delete\":true,\"set\":{\"a\":1}}",
                "{\"set\":{\"a\":1},\"unset\":[\"a\"]}", "{\"what\":1}", "{\"set\":{\"\":1}}"}) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> DocOp.from(update(1, "a", null, patch)), patch);
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
            assertEquals(7, e.requestId());
        }
        assertThrows(ProtocolException.class, () -> DocOp.from(update(-1, "a", "{}", null)));
        assertThrows(ProtocolException.class, () -> DocOp.from(update(1, "", "{}", null)));
        assertThrows(ProtocolException.class, () -> DocOp.from(update(1, "x".repeat(300), "{}", null)));
        assertThrows(ProtocolException.class, () -> DocOp.from(new ClientFrame.DocUpdate(7, "bad type!", "a", 0, "o",
                Optional.of(codec.object()), Optional.empty())));
    }

    @Test
    void anOperationNamesItsPredecessorByAnotherOpIdOfAtMost256Characters() {
        ClientFrame.DocUpdate follows = new ClientFrame.DocUpdate(7, "t", "i", 3, "c:2", Optional.of(codec.object()),
                Optional.empty(), Optional.of("c:1"));
        assertEquals(Optional.of("c:1"), DocOp.from(follows).afterOpId());
        assertEquals(Optional.empty(), DocOp.from(update(1, "c:2", "{}", null)).afterOpId());
        for (String bad : new String[] {"", "c:2", "x".repeat(257)}) {
            ProtocolException e = assertThrows(ProtocolException.class, () -> DocOp.from(new ClientFrame.DocUpdate(7,
                    "t", "i", 3, "c:2", Optional.of(codec.object()), Optional.empty(), Optional.of(bad))));
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        assertEquals(5, DocOp.from(follows).rebased(5).baseVersion());
    }

    @Test
    void resolutionsParseFromTheirWireNames() {
        assertEquals(Resolution.acceptLocal(), Resolution.parse("accept_local", Optional.empty()));
        assertEquals(Resolution.Kind.ACCEPT_SERVER, Resolution.parse("accept_server", Optional.empty()).kind());
        JsonNode data = codec.parse("{\"a\":1}");
        assertEquals(data, Resolution.parse("merge", Optional.of(data)).data().orElseThrow());
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(ProtocolException.class,
                () -> Resolution.parse("merge", Optional.empty())).code());
        assertThrows(ProtocolException.class, () -> Resolution.parse("accept_local", Optional.of(data)));
        assertThrows(ProtocolException.class, () -> Resolution.parse("coin_flip", Optional.empty()));
    }

    @Test
    void aDocumentsChannelIsItsTypeAndId() {
        assertEquals("doc:stock_level:A-1@wh-7", new DocRef("stock_level", "A-1@wh-7").channel().toString());
        assertTrue(new Document(new DocRef("t", "i"), 1, codec.object(), java.time.Instant.EPOCH, "u", "c", false)
                .toJson().has("updatedAt"));
        assertThrows(IllegalArgumentException.class, () -> new DocRef("t", "has space"));
    }

    private DocOp op(String opId) {
        return new DocOp(new DocRef("t", "i"), 0, opId, new Edit.Delete());
    }

    private ClientFrame.DocUpdate update(long base, String opId, String data, String patch) {
        return new ClientFrame.DocUpdate(7, "stock_level", "A-1@wh-7", base, opId,
                Optional.ofNullable(data).map(codec::parse), Optional.ofNullable(patch).map(codec::parse));
    }
}
