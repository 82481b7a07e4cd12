package dev.tandem.operations;

import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.MemoryBroker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.hub.Publication;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Publishing for services (the REST API, Kafka): the names, the tenant, the inbox. */
class ServicePublishTest {
    private final FrameCodec codec = FrameCodec.create();
    private final ChannelRules rules = ChannelRules.create();
    private final Hub hub = new Hub(codec, Telemetry.NOOP);
    private final MemoryBroker broker = new MemoryBroker(hub, rules, Telemetry.NOOP, Clock.systemUTC());
    private final Operations ops = Operations.builder().rules(rules).broker(broker).codec(codec)
            .verifier(token -> {
                throw new ProtocolException(ErrorCode.UNAUTHORIZED, "no tokens here");
            }).build();
    private final Principal acme = new Principal("acme", "erp", Set.of("service"), Map.of(), Optional.empty());

    @AfterEach
    void close() {
        ops.close();
    }

    private JsonNode data() {
        return codec.object().put("sku", "A-1");
    }

    private ObjectNode ok(Result r) {
        return assertInstanceOf(Result.Ok.class, r, () -> "refused: " + r).body();
    }

    private Result.Failed failed(Result r) {
        return assertInstanceOf(Result.Failed.class, r, () -> "answered: " + r);
    }

    @Test
    void publishesToEveryNamedChannelOnceWithTheSourcesEventId() {
        List<Publication> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        hub.add(rules.resolve("acme", "location:wh-1"), (p, frame) -> seen.add(p));
        ObjectNode body = ok(ops.channels().servicePublish(acme, List.of("location:wh-1", "user:bob", "location:wh-1"),
                "stock.updated", data(), Optional.of("evt-9")));
        JsonNode list = body.get("publications");
        assertEquals(2, list.size(), "a channel named twice is published once");
        assertEquals("location:wh-1", list.get(0).get("channel").asText());
        assertEquals("user:bob", list.get(1).get("channel").asText());
        assertEquals(1, list.get(1).get("offset").asLong());
        assertTrue(list.get(0).has("epoch"));
        assertEquals("evt-9", seen.getFirst().eventId());
        assertEquals(Optional.empty(), seen.getFirst().from());
        assertEquals(1, ops.parts().inbox().depth("acme", "bob"), "a user channel's publication waits in the inbox");
    }

    @Test
    void oneBadChannelPublishesNothing() {
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, failed(ops.channels().servicePublish(acme, List.of("location:wh-1", "nowhere:x"),
                "stock.updated", data(), Optional.empty())).code());
        assertEquals(0, broker.top(rules.resolve("acme", "location:wh-1")).offset());
    }

    @Test
    void aPublicationNeedsAChannelAndAValidType() {
        assertEquals(ErrorCode.BAD_REQUEST, failed(ops.channels().servicePublish(acme, List.of(), "t", data(), Optional.empty())).code());
        for (String type : new String[] {"", "has space", "x".repeat(65), "new\nline", "tandem.fake"}) {
            assertEquals(ErrorCode.BAD_REQUEST, failed(ops.channels().servicePublish(acme, List.of("tenant"), type, data(),
                    Optional.empty())).code());
        }
        assertEquals(0, broker.top(rules.resolve("acme", "tenant")).offset());
    }

    @Test
    void aPublicationNamingMoreThanTheMostChannelsIsRefusedAndPublishesNothing() {
        List<String> many = java.util.stream.IntStream.rangeClosed(0, Channels.MAX_CHANNELS_PER_PUBLICATION)
                .mapToObj(i -> "location:l" + i).toList();
        Result.Failed refused = failed(ops.channels().servicePublish(acme, many, "t", data(), Optional.empty()));
        assertEquals(ErrorCode.BAD_REQUEST, refused.code());
        assertTrue(refused.message().contains("at most " + Channels.MAX_CHANNELS_PER_PUBLICATION), refused.message());
        assertEquals(0, broker.top(rules.resolve("acme", "location:l0")).offset());
        assertTrue(ok(ops.channels().servicePublish(acme, many.subList(0, Channels.MAX_CHANNELS_PER_PUBLICATION), "t",
                data(), Optional.empty())).get("publications").size() == Channels.MAX_CHANNELS_PER_PUBLICATION);
    }

    private static dev.tandem.events.CloudEvent event(String id, String type) {
        return new dev.tandem.events.CloudEvent(id, "/erp", type, Optional.empty(), Optional.empty(),
                FrameCodec.create().object(), Optional.of("acme"), List.of(), Map.of());
    }

    @Test
    void aDomainEventIsJudgedAsAServicePublicationIs() {
        List<String> many = java.util.stream.IntStream.rangeClosed(0, Channels.MAX_CHANNELS_PER_PUBLICATION)
                .mapToObj(i -> "location:l" + i).toList();
        ProtocolException tooMany = org.junit.jupiter.api.Assertions.assertThrows(ProtocolException.class,
                () -> ops.channels().ingest("acme", many, event("e-1", "stock.updated")));
        assertEquals(ErrorCode.BAD_REQUEST, tooMany.code());
        ProtocolException none = org.junit.jupiter.api.Assertions.assertThrows(ProtocolException.class,
                () -> ops.channels().ingest("acme", List.of(), event("e-2", "stock.updated")));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, none.code());
        assertTrue(none.getMessage().contains("unroutable"), none.getMessage());
        ops.channels().ingest("acme", List.of("location:wh-1", "location:wh-1"), event("e-3", "stock.updated"));
        assertEquals(1, broker.top(rules.resolve("acme", "location:wh-1")).offset(), "once per channel");
    }

    @Test
    void aPublicationStaysInItsTenant() {
        ok(ops.channels().servicePublish(acme, List.of("tenant"), "t", data(), Optional.empty()));
        assertEquals(0, broker.top(rules.resolve("globex", "tenant")).offset());
        assertEquals(1, broker.top(rules.resolve("acme", "tenant")).offset());
    }

    @Test
    void sendingToAUserChecksTheUserId() {
        assertEquals(ErrorCode.BAD_REQUEST, failed(ops.channels().sendToUser(acme, "bob:x", "t", data(), Optional.empty())).code());
        assertEquals(ErrorCode.BAD_REQUEST, failed(ops.channels().sendToUser(acme, "b\nob", "t", data(), Optional.empty())).code());
        assertEquals("user:bob", ok(ops.channels().sendToUser(acme, "bob", "t", data(), Optional.empty())).get("publications")
                .get(0).get("channel").asText());
    }
}
