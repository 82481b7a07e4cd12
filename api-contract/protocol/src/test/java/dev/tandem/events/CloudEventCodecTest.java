package dev.tandem.events;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CloudEventCodecTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CloudEventCodec CODEC = new CloudEventCodec(dev.tandem.protocol.FrameCodec.create());

    private static CloudEvent decode(String json) {
        return CODEC.decode(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void decodesAStructuredEventWithTandemExtensions() {
        CloudEvent e = decode("""
                {"specversion":"1.0","id":"ev-1","source":"/erp/inventory","type":"stock.updated",
                 "subject":"sku/A-1","time":"2026-11-22T10:00:00Z","datacontenttype":"application/json",
                 "tenantid":"acme","channels":"location:wh-7, tenant","traceparent":"00-abc-def-01",
                 "data":{"sku":"A-1","qty":7}}""");
        assertEquals("ev-1", e.id());
        assertEquals("stock.updated", e.type());
        assertEquals(Optional.of("sku/A-1"), e.subject());
        assertEquals(Optional.of(Instant.parse("2026-11-22T10:00:00Z")), e.time());
        assertEquals(Optional.of("acme"), e.tenantId());
        assertEquals(List.of("location:wh-7", "tenant"), e.channels());
        assertEquals(7, e.data().get("qty").asInt());
        assertEquals(Map.of("traceparent", "00-abc-def-01"), e.extensions());
    }

    @Test
    void survivesARoundTrip() throws Exception {
        CloudEvent e = new CloudEvent("c-1", "/tandem/gw", "doc.changed", Optional.of("stock_level/A-1"),
                Optional.of(Instant.parse("2026-11-22T10:00:00.5Z")), JSON.readTree("{\"v\":3}"), Optional.of("acme"),
                List.of("doc:stock_level:A-1"), Map.of("partitionkey", "acme/stock_level/A-1"));
        assertEquals(e, CODEC.decode(CODEC.encode(e)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "not json | malformed JSON",
            "[1] | JSON object",
            "{\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"} | missing specversion",
            "{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\"} | not supported",
            "{\"specversion\":\"1.0\",\"source\":\"s\",\"type\":\"t\"} | missing id",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"t\"} | missing source",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\"} | missing type",
            "{\"specversion\":\"1.0\",\"id\":7,\"source\":\"s\",\"type\":\"t\"} | id must be a string",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"time\":\"yesterday\"} | RFC 3339",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"datacontenttype\":\"text/xml\"} | not JSON",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"data_base64\":\"AA==\"} | data_base64",
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"channels\":5} | channels"})
    void namesWhatIsWrongWithAMalformedEvent(String json, String reason) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode(json));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
    }

    @Test
    void anOverlongEncodingCannotSmuggleATenantId() {
        byte[] json = ("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"tenantid\":\"glo")
                .getBytes(StandardCharsets.UTF_8);
        byte[] tail = "ex\"}".getBytes(StandardCharsets.UTF_8);
        byte[] record = new byte[json.length + 2 + tail.length];
        System.arraycopy(json, 0, record, 0, json.length);
        record[json.length] = (byte) 0xC1; // an overlong 'b'
        record[json.length + 1] = (byte) 0xA2;
        System.arraycopy(tail, 0, record, json.length + 2, tail.length);
        ProtocolException e = assertThrows(ProtocolException.class, () -> CODEC.decode(record));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertTrue(e.getMessage().contains("not valid UTF-8"), e.getMessage());
    }

    @Test
    void mediaTypesAreCaseInsensitiveAndMayCarryParameters() {
        for (String type : List.of("application/JSON", "Application/Json; charset=utf-8", "application/vnd.erp+JSON")) {
            decode("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"t\",\"datacontenttype\":\""
                    + type + "\",\"data\":{}}");
        }
        assertThrows(ProtocolException.class, () -> decode("{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\","
                + "\"type\":\"t\",\"datacontenttype\":\"+json\"}"));
    }

    @Test
    void aNumberOutOfRangeIsRefusedNotDeliveredAsInfinity() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode("{\"specversion\":\"1.0\",\"id\":\"1\","
                + "\"source\":\"s\",\"type\":\"t\",\"data\":{\"qty\":1e400}}"));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
    }

    @Test
    void aRejectedValueIsQuotedAndBoundedInTheReason() {
        String forged = "x\\r\\nSEVERE: forged " + "y".repeat(100_000);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode("{\"specversion\":\"1.0\",\"id\":\"1\","
                + "\"source\":\"s\",\"type\":\"t\",\"time\":\"" + forged + "\"}"));
        assertTrue(e.getMessage().length() < 200, e.getMessage().length() + " characters");
        assertTrue(e.getMessage().contains("\"x\\u000d\\u000aSEVERE"), e.getMessage());
        assertTrue(e.getMessage().lines().count() == 1, e.getMessage());
    }
}
