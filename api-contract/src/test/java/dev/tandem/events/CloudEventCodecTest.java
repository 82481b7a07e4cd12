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
    private static final CloudEventCodec CODEC = new CloudEventCodec(JSON);

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
            "not json | not JSON",
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
}
