package dev.tandem.document;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.auth.Principal;

import io.helidon.config.Config;

/**
 * Who may do what with the documents of each type: read, create, write, delete, and resolve
 * conflicts. Configured under the documents node as {@code types.TYPE.access.RIGHT} (and
 * {@code types.default.access.RIGHT} for every type not listed), each a list of
 * {@link AccessRule}s of which any one grants the right:
 * <pre>
 * types:
 *   default:
 *     access:
 *       read:    [any]
 *       create:  [any]
 *       write:   [any]
 *       delete:  [author, "role:admin"]
 *       resolve: [author, "role:admin"]
 *   stock_level:
 *     access:
 *       read:  ["claim:locations=locationId"]
 *       write: ["claim:locations=locationId"]
 * </pre>
 * The built-in default (shown) keeps the tenant collaborative (every user of the tenant reads,
 * creates and edits) while what cannot be taken back, deleting a document and deciding someone
 * else's conflict, belongs to the author and to admins. A type that names a right replaces that
 * right's rules and keeps the default's for the others.
 *
 * <p>Rules are judged against a {@link Subject}: the document's data and author as stored, or
 * the data a write would produce. A document that does not exist is judged as the empty document
 * with no author, so rules that depend on the document ({@code claim}, {@code author}) refuse it
 * and a refusal never tells whether a document exists. Immutable and thread-safe.
 */
public final class DocumentAccess {
    /** The rights a document type can grant. */
    public enum Right {
        /** Read it: {@code doc.get}, {@code doc.query}, {@code doc:} channel subscriptions. */
        READ,
        /** Create it (a write to a document that does not exist, or to a tombstone). */
        CREATE,
        /** Change an existing document (judged on the stored and on the resulting data). */
        WRITE,
        /** Delete it (judged on the stored data). */
        DELETE,
        /** Resolve a manual conflict on it ({@code author} is the conflict's author). */
        RESOLVE;

        /** The configuration name, e.g. {@code read}. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * What a rule is judged against.
     *
     * @param author the document's author (its creator; for {@link Right#RESOLVE} the conflict's
     *               author), empty for a document that does not exist
     * @param data   the document's data ({@code {}} for none)
     */
    public record Subject(Optional<String> author, JsonNode data) {
        /** Validates the fields. */
        public Subject {
            java.util.Objects.requireNonNull(author, "author");
            java.util.Objects.requireNonNull(data, "data");
        }

        /** The subject of a document that does not exist. */
        public static Subject none() {
            return new Subject(Optional.empty(), com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode());
        }

        /** The subject of a stored document (a tombstone counts as none). */
        public static Subject of(Document document) {
            return document.deleted() ? none() : new Subject(Optional.of(document.createdBy()), document.data());
        }
    }

    /** The built-in rules of types nobody configured. */
    public static final Map<Right, List<AccessRule>> DEFAULT_RULES = Map.of(
            Right.READ, List.of(new AccessRule.Any()),
            Right.CREATE, List.of(new AccessRule.Any()),
            Right.WRITE, List.of(new AccessRule.Any()),
            Right.DELETE, List.of(new AccessRule.Author(), new AccessRule.Role("admin")),
            Right.RESOLVE, List.of(new AccessRule.Author(), new AccessRule.Role("admin")));

    private final Map<Right, List<AccessRule>> fallback;
    private final Map<String, Map<Right, List<AccessRule>>> byType;

    private DocumentAccess(Map<Right, List<AccessRule>> fallback, Map<String, Map<Right, List<AccessRule>>> byType) {
        this.fallback = fallback;
        this.byType = byType;
    }

    /** The built-in rules for every type. */
    public static DocumentAccess defaults() {
        return new DocumentAccess(DEFAULT_RULES, Map.of());
    }

    /**
     * The rules of the {@code types} node of the documents configuration, on top of the
     * built-in default.
     *
     * @throws IllegalArgumentException for a rule that does not parse, naming type and right
     */
    public static DocumentAccess create(Config types) {
        Map<Right, List<AccessRule>> fallback = read(types.get("default"), DEFAULT_RULES, "default");
        Map<String, Map<Right, List<AccessRule>>> byType = new HashMap<>();
        for (Config node : types.asNodeList().orElse(List.of())) {
            if (!node.name().equals("default")) {
                byType.put(node.name(), read(node, fallback, node.name()));
            }
        }
        return new DocumentAccess(fallback, Map.copyOf(byType));
    }

    private static Map<Right, List<AccessRule>> read(Config type, Map<Right, List<AccessRule>> base, String name) {
        Map<Right, List<AccessRule>> rules = new EnumMap<>(Right.class);
        rules.putAll(base);
        Config access = type.get("access");
        for (Right right : Right.values()) {
            Config node = access.get(right.key());
            if (!node.exists()) {
                continue;
            }
            String where = "tandem.documents.types." + name + ".access." + right.key();
            try {
                // a list, or one value with rules separated by commas (environment variables)
                List<String> texts = node.isLeaf() ? List.of(node.asString().get().split(","))
                        : node.asList(String.class).get();
                rules.put(right, texts.stream().map(AccessRule::parse).toList());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
        }
        return Map.copyOf(rules);
    }

    private static final java.util.regex.Pattern CLAIM = java.util.regex.Pattern.compile("(?i:claim):([^=\\s]+)=([^=\\s]+)");

    static AccessRule parseRule(String text) {
        String t = text.trim();
        String lower = t.toLowerCase(Locale.ROOT);
        switch (lower) {
            case "any" -> {
                return new AccessRule.Any();
            }
            case "none" -> {
                return new AccessRule.None();
            }
            case "author" -> {
                return new AccessRule.Author();
            }
            default -> {
                // parsed below
            }
        }
        if (lower.startsWith("role:") && t.length() > 5) {
            return new AccessRule.Role(t.substring(5));
        }
        java.util.regex.Matcher m = CLAIM.matcher(t);
        if (m.matches()) {
            return new AccessRule.Claim(m.group(1), m.group(2));
        }
        throw new IllegalArgumentException("document access rule '" + text
                + "' is not one of any, none, author, role:NAME, claim:NAME=FIELD");
    }

    /** Whether any rule of the type grants the right to the principal on the subject. */
    public boolean allows(Principal who, String type, Right right, Subject subject) {
        for (AccessRule rule : rules(type, right)) {
            if (rule.grants(who, subject)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The principals a right is granted to on one subject, judged once (for a publication that
     * many subscribers receive): each of them is then a lookup, not a reading of the document.
     */
    public Predicate<Principal> grantees(String type, Right right, Subject subject) {
        List<Predicate<Principal>> bound = rules(type, right).stream().map(r -> r.on(subject)).toList();
        return who -> {
            for (Predicate<Principal> p : bound) {
                if (p.test(who)) {
                    return true;
                }
            }
            return false;
        };
    }

    /** The rules of a type for a right. */
    public List<AccessRule> rules(String type, Right right) {
        return byType.getOrDefault(type, fallback).get(right);
    }

    /** The rules as configured, for messages: {@code author, role:admin}. */
    public String describe(String type, Right right) {
        return rules(type, right).stream().map(AccessRule::toString).collect(Collectors.joining(", "));
    }
}
