package dev.tandem.operations;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.document.DocumentAccess;
import dev.tandem.hub.Publication;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReadersTest {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private static Principal user(String name, String location) {
        return new Principal("acme", name, Set.of(), Map.of("locations", List.of(location)), Optional.empty());
    }

    @Test
    void theReadRuleIsJudgedOncePerPublicationNotOncePerSubscriber() {
        DocumentAccess access = DocumentAccess.create(Config.just(ConfigSources.create(Map.of(
                "stock_level.access.read.0", "claim:locations=locationId"))));
        AtomicInteger lookups = new AtomicInteger();
        ObjectNode data = new ObjectNode(NODES) {
            private static final long serialVersionUID = 1L;

            @Override
            public JsonNode get(String field) {
                lookups.incrementAndGet();
                return super.get(field);
            }
        };
        data.put("locationId", "wh-7");
        ObjectNode document = NODES.objectNode().put("docType", "stock_level").put("docId", "A-1")
                .put("createdBy", "alice").put("deleted", false);
        document.set("data", data);
        Publication p = new Publication(new ChannelKey("acme", ChannelName.parse("location:wh-7").orElseThrow()), Optional.empty(),
                "doc.changed", "doc-stock_level-A-1-v1", Instant.now(), Optional.empty(), document, 0);
        Readers readers = new Readers(access);

        int admitted = 0;
        for (int i = 0; i < 1000; i++) {
            admitted += readers.admit(user("u" + i, i % 2 == 0 ? "wh-7" : "wh-8"), p) ? 1 : 0;
        }
        assertEquals(500, admitted, "only the readers of wh-7");
        assertEquals(1, lookups.get(), "the document was read once for a thousand subscribers");

        // another version is judged on its own data
        ObjectNode moved = document.deepCopy();
        moved.with("data").put("locationId", "wh-8");
        Publication next = new Publication(p.channel(), Optional.empty(), "doc.changed", "doc-stock_level-A-1-v2",
                Instant.now(), Optional.empty(), moved, 0);
        assertFalse(readers.admit(user("u0", "wh-7"), next));
        assertTrue(readers.admit(user("u1", "wh-8"), next));
    }

    @Test
    void aDeletionIsJudgedOnTheDataItDeleted() {
        DocumentAccess access = DocumentAccess.create(Config.just(ConfigSources.create(Map.of(
                "stock_level.access.read.0", "claim:locations=locationId"))));
        ObjectNode tombstone = NODES.objectNode().put("docType", "stock_level").put("docId", "A-2")
                .put("createdBy", "alice").put("deleted", true);
        tombstone.putObject("data");
        tombstone.putObject(Publisher.BEFORE).put("locationId", "wh-7");
        Publication p = new Publication(new ChannelKey("acme", ChannelName.parse("location:wh-7").orElseThrow()),
                Optional.empty(), "doc.deleted", "doc-stock_level-A-2-v2", Instant.now(), Optional.empty(), tombstone, 0);
        Readers readers = new Readers(access);
        assertTrue(readers.admit(user("u0", "wh-7"), p), "a reader of what was deleted");
        assertFalse(readers.admit(user("u1", "wh-8"), p), "not a reader of it");

        ObjectNode bare = tombstone.deepCopy();
        bare.remove(Publisher.BEFORE);
        Publication over = new Publication(p.channel(), Optional.empty(), "doc.deleted", "doc-stock_level-A-2-v3",
                Instant.now(), Optional.empty(), bare, 0);
        assertFalse(readers.admit(user("u0", "wh-7"), over), "nothing readable was deleted");
    }
}
