package dev.tandem.client;

import java.net.URI;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Where the push device requests go: the gateway of the client's WebSocket URI. */
class PushDevicesTest {
    @Test
    void theApiBaseIsTheGatewayOfTheWebSocketUri() {
        assertEquals(URI.create("https://sync.example.com/api/v1"), PushDevices.apiBase(URI.create("wss://sync.example.com/ws")));
        assertEquals(URI.create("http://127.0.0.1:8080/api/v1"), PushDevices.apiBase(URI.create("ws://127.0.0.1:8080/ws?x=1")));
        assertEquals(URI.create("https://example.com/tandem/api/v1"), PushDevices.apiBase(URI.create("wss://example.com/tandem/ws/")));
        assertEquals(URI.create("http://example.com/api/v1"), PushDevices.apiBase(URI.create("ws://example.com")));
    }
}
