package dev.tandem.harness;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.tandem.gateway.DevTokens;

/** Development tokens that harness nodes (development mode) trust, as {@code ./tandem token} prints them. */
public final class Tokens {
    /** Every location and workspace. */
    public static final Map<String, List<String>> ALL = Map.of("locations", List.of("*"), "workspaces", List.of("*"));

    private Tokens() {
    }

    /** A one-hour token for {@code user} in {@code tenant} with these scope claims and roles. */
    public static String token(String user, String tenant, Map<String, List<String>> scopes, String... roles) {
        return DevTokens.mint(DevTokens.DEV_SECRET, user, tenant, List.of(roles), scopes, Duration.ofHours(1),
                Optional.empty(), Optional.empty());
    }

    /** A service token (REST API) for {@code tenant}. */
    public static String service(String tenant) {
        return token("erp", tenant, Map.of(), "service");
    }
}
