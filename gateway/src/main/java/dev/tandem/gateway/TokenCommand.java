package dev.tandem.gateway;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.helidon.config.Config;

/**
 * {@code ./tandem token --user U --tenant T [--role R]... [--ttl D] [--location L]...
 * [--workspace W]... [--project P]...}: prints a development token signed with the secret the
 * gateway's configuration trusts ({@code tandem.auth.hs256-secret}). The last line printed is
 * the token.
 */
public final class TokenCommand {
    private TokenCommand() {
    }

    /**
     * Prints a token.
     *
     * @param args see the class description
     */
    public static void main(String[] args) {
        try {
            System.out.println(run(args, GatewayConfig.load()));
        } catch (IllegalArgumentException e) {
            System.err.println("tandem token: " + e.getMessage());
            System.err.println("usage: ./tandem token --user U --tenant T [--role R]... [--ttl 1h] "
                    + "[--location L]... [--workspace W]... [--project P]...");
            System.exit(2);
        }
    }

    static String run(String[] args, Config root) {
        String user = null;
        String tenant = null;
        Duration ttl = Duration.ofHours(1);
        List<String> roles = new ArrayList<>();
        Map<String, List<String>> scopes = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String opt = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + opt + " needs a value");
            }
            String value = args[++i];
            switch (opt) {
                case "--user" -> user = value;
                case "--tenant" -> tenant = value;
                case "--role" -> roles.add(value);
                case "--ttl" -> ttl = parseDuration(value);
                case "--location" -> scopes.computeIfAbsent("locations", k -> new ArrayList<>()).add(value);
                case "--workspace" -> scopes.computeIfAbsent("workspaces", k -> new ArrayList<>()).add(value);
                case "--project" -> scopes.computeIfAbsent("projects", k -> new ArrayList<>()).add(value);
                default -> throw new IllegalArgumentException("unknown option " + opt);
            }
        }
        if (user == null || tenant == null) {
            throw new IllegalArgumentException("--user and --tenant are required");
        }
        Config auth = root.get("tandem.auth");
        // a development tool: without a configured secret it signs with the development secret,
        // which a gateway trusts only in development mode
        String secret = auth.get("hs256-secret").asString().asOptional().filter(s -> !s.isBlank())
                .orElse(DevTokens.DEV_SECRET);
        String token = DevTokens.mint(secret, user, tenant, roles, scopes, ttl,
                auth.get("issuer").asString().filter(s -> !s.isBlank()),
                auth.get("audience").asString().filter(s -> !s.isBlank()));
        return "# development token for user " + user + " in tenant " + tenant + ", roles " + roles + ", scopes "
                + scopes + ", valid for " + ttl + "\n" + token;
    }

    /** {@code 90s}, {@code 30m}, {@code 12h}, {@code 7d} or ISO-8601 ({@code PT1H}). */
    static Duration parseDuration(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("p")) {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            Duration d = switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                default -> throw new IllegalArgumentException("bad unit");
            };
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("must be positive");
            }
            return d;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--ttl '" + text + "' is not a duration like 90s, 30m, 12h, 7d or PT1H");
        }
    }
}
