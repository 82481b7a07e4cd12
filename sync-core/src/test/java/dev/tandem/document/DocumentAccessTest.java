package dev.tandem.document;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.DocumentAccess.Right;
import dev.tandem.document.DocumentAccess.Subject;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DocumentAccessTest {
    private static final Principal ALICE = new Principal("acme", "alice", Set.of(), Map.of("locations", List.of("wh-1")),
            Optional.empty());
    private static final Principal BOB = new Principal("acme", "bob", Set.of(), Map.of("locations", List.of("wh-2")),
            Optional.empty());
    private static final Principal ADMIN = new Principal("acme", "root", Set.of("admin"), Map.of("locations", List.of("*")),
            Optional.empty());

    private static ObjectNode data(String location) {
        return JsonNodeFactory.instance.objectNode().put("locationId", location);
    }

    private static DocumentAccess config(Map<String, String> types) {
        return DocumentAccess.create(Config.just(ConfigSources.create(types)));
    }

    @Test
    void theDefaultLetsTheTenantCollaborateAndKeepsDeletingAndResolvingToTheAuthorAndAdmins() {
        DocumentAccess access = DocumentAccess.defaults();
        Subject alices = new Subject(Optional.of("alice"), data("wh-1"));
        for (Right r : List.of(Right.READ, Right.CREATE, Right.WRITE)) {
            assertTrue(access.allows(BOB, "note", r, alices), r.key());
        }
        for (Right r : List.of(Right.DELETE, Right.RESOLVE)) {
            assertTrue(access.allows(ALICE, "note", r, alices), r.key());
            assertFalse(access.allows(BOB, "note", r, alices), r.key());
            assertTrue(access.allows(ADMIN, "note", r, alices), r.key());
        }
        assertEquals("author, role:admin", access.describe("note", Right.DELETE));
    }

    @Test
    void aTypeReplacesTheRightsItNamesAndKeepsTheDefaultsForTheRest() {
        DocumentAccess access = config(Map.of(
                "default.access.read.0", "role:staff",
                "stock_level.access.read.0", "claim:locations=locationId",
                "stock_level.access.read.1", "role:auditor",
                "stock_level.access.write", "none"));
        Subject wh1 = new Subject(Optional.of("alice"), data("wh-1"));
        assertTrue(access.allows(ALICE, "stock_level", Right.READ, wh1));
        assertFalse(access.allows(BOB, "stock_level", Right.READ, wh1));
        assertTrue(access.allows(ADMIN, "stock_level", Right.READ, wh1), "* grants every id");
        assertTrue(access.allows(new Principal("acme", "aud", Set.of("auditor"), Map.of(), Optional.empty()),
                "stock_level", Right.READ, wh1));
        assertFalse(access.allows(ADMIN, "stock_level", Right.WRITE, wh1));
        assertTrue(access.allows(BOB, "stock_level", Right.CREATE, wh1), "create kept from the built-in default");
        assertFalse(access.allows(ALICE, "note", Right.READ, wh1), "other types take the configured default");
    }

    @Test
    void documentRulesRefuseWhatDoesNotExistSoRefusalsTellNothing() {
        DocumentAccess access = config(Map.of("t.access.read.0", "claim:locations=locationId",
                "u.access.read.0", "author", "v.access.read.0", "any"));
        assertFalse(access.allows(ADMIN, "t", Right.READ, Subject.none()));
        assertFalse(access.allows(ADMIN, "u", Right.READ, Subject.none()));
        assertTrue(access.allows(BOB, "v", Right.READ, Subject.none()));
    }

    @Test
    void claimsMatchTextAndIntegerFieldsOnly() {
        DocumentAccess access = config(Map.of("t.access.read.0", "claim:locations=loc"));
        Principal seven = new Principal("acme", "x", Set.of(), Map.of("locations", List.of("7")), Optional.empty());
        ObjectNode d = JsonNodeFactory.instance.objectNode();
        assertTrue(access.allows(seven, "t", Right.READ, new Subject(Optional.empty(), d.put("loc", 7))));
        assertTrue(access.allows(seven, "t", Right.READ, new Subject(Optional.empty(), d.put("loc", "7"))));
        assertFalse(access.allows(seven, "t", Right.READ, new Subject(Optional.empty(), d.put("loc", 7.0))));
        d.putArray("loc").add("7");
        assertFalse(access.allows(seven, "t", Right.READ, new Subject(Optional.empty(), d)));
    }

    @Test
    void aRuleThatDoesNotParseFailsAtStartNamingWhere() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> config(Map.of("t.access.read.0", "claim:locations")));
        assertTrue(e.getMessage().contains("tandem.documents.types.t.access.read"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> config(Map.of("t.access.write.0", "everyone")));
        assertEquals("claim:locations=locationId", AccessRule.parse(" CLAIM:locations=locationId ").toString());
        assertEquals(new AccessRule.Author(), AccessRule.parse("Author"));
    }
}
