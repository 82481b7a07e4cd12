package dev.tandem.auth;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PrincipalTest {
    private static Principal parsed(String tenant, String user, String... roles) {
        // new strings each time, as every token's parse makes them
        Set<String> copies = new java.util.HashSet<>();
        for (String r : roles) {
            copies.add(new String(r));
        }
        return new Principal(new String(tenant), new String(user), copies, Map.of(), Optional.empty());
    }

    @Test
    void principalsOfOneTenantShareTheTenantAndRoleNames() {
        Principal a = parsed("acme", "alice", "editor");
        Principal b = parsed("acme", "bob", "editor", "viewer");
        assertSame(a.tenant(), b.tenant());
        assertSame(a.roles().iterator().next(), b.roles().stream().filter("editor"::equals).findFirst().orElseThrow());
        assertEquals(Set.of("editor", "viewer"), b.roles());
        assertEquals(Set.of(), parsed("acme", "carol").roles());
    }

    @Test
    void rolesAndScopesStayUnmodifiable() {
        Principal p = new Principal("acme", "alice", new java.util.HashSet<>(Set.of("editor")),
                new java.util.HashMap<>(Map.of("locations", List.of("wh-1"))), Optional.empty());
        assertThrows(UnsupportedOperationException.class, () -> p.roles().add("admin"));
        assertThrows(UnsupportedOperationException.class, () -> p.scopes().put("workspaces", List.of()));
        assertThrows(NullPointerException.class, () -> new Principal("acme", "alice", Set.of(), Map.of(), null));
    }
}
