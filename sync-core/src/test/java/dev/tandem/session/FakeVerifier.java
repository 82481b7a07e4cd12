package dev.tandem.session;

import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.tandem.auth.Principal;
import dev.tandem.auth.TokenVerifier;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * Tokens for tests, no signatures: {@code user@tenant}, optionally followed by
 * {@code ;exp=EPOCH_MILLIS}, {@code ;locations=a,b}, {@code ;workspaces=w}, {@code ;roles=r}.
 * Anything else (e.g. {@code bad}) is refused as {@code UNAUTHORIZED}.
 */
final class FakeVerifier implements TokenVerifier {

    static String token(String user, String tenant, String... claims) {
        StringBuilder sb = new StringBuilder(user).append('@').append(tenant);
        for (String c : claims) {
            sb.append(';').append(c);
        }
        return sb.toString();
    }

    static String expiring(String user, String tenant, Instant at, String... claims) {
        String[] all = new String[claims.length + 1];
        all[0] = "exp=" + at.toEpochMilli();
        System.arraycopy(claims, 0, all, 1, claims.length);
        return token(user, tenant, all);
    }

    @Override
    public Principal verify(String token) {
        String[] parts = token.split(";");
        int at = parts[0].indexOf('@');
        if (at <= 0 || at == parts[0].length() - 1) {
            throw new ProtocolException(ErrorCode.UNAUTHORIZED, "token not accepted");
        }
        String user = parts[0].substring(0, at);
        String tenant = parts[0].substring(at + 1);
        Optional<Instant> exp = Optional.empty();
        Map<String, List<String>> scopes = new HashMap<>();
        Set<String> roles = Set.of();
        for (int i = 1; i < parts.length; i++) {
            String[] kv = parts[i].split("=", 2);
            switch (kv[0]) {
                case "exp" -> exp = Optional.of(Instant.ofEpochMilli(Long.parseLong(kv[1])));
                case "roles" -> roles = Set.of(kv[1].split(","));
                default -> scopes.put(kv[0], List.of(kv[1].split(",")));
            }
        }
        return new Principal(tenant, user, roles, scopes, exp);
    }
}
