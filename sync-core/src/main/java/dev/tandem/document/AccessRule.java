package dev.tandem.document;

import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.auth.Principal;

/**
 * One rule of {@link DocumentAccess}, written in configuration as {@code any}, {@code none},
 * {@code role:NAME}, {@code claim:NAME=FIELD} or {@code author}.
 */
public sealed interface AccessRule {

    /** Whether the rule grants the principal its right on the subject. */
    boolean grants(Principal who, DocumentAccess.Subject subject);

    /**
     * The rule judged on one subject, for many principals: what depends on the document (a
     * field's value, the author) is looked up once, here.
     */
    default Predicate<Principal> on(DocumentAccess.Subject subject) {
        return who -> grants(who, subject);
    }

    /** Every user of the tenant. */
    record Any() implements AccessRule {
        @Override
        public boolean grants(Principal who, DocumentAccess.Subject subject) {
            return true;
        }

        @Override
        public String toString() {
            return "any";
        }
    }

    /** Nobody (services still act for the tenant). */
    record None() implements AccessRule {
        @Override
        public boolean grants(Principal who, DocumentAccess.Subject subject) {
            return false;
        }

        @Override
        public String toString() {
            return "none";
        }
    }

    /** Users with the role. */
    record Role(String role) implements AccessRule {
        @Override
        public boolean grants(Principal who, DocumentAccess.Subject subject) {
            return who.hasRole(role);
        }

        @Override
        public String toString() {
            return "role:" + role;
        }
    }

    /**
     * Users whose scope claim {@code claim} lists the value of the document's top-level field
     * {@code field} (a string or an integer), or {@code *}. A missing field grants nothing.
     */
    record Claim(String claim, String field) implements AccessRule {
        @Override
        public boolean grants(Principal who, DocumentAccess.Subject subject) {
            JsonNode v = subject.data().get(field);
            if (v == null || !(v.isTextual() || v.isIntegralNumber())) {
                return false;
            }
            return who.inScope(claim, v.asText());
        }

        @Override
        public Predicate<Principal> on(DocumentAccess.Subject subject) {
            JsonNode v = subject.data().get(field);
            if (v == null || !(v.isTextual() || v.isIntegralNumber())) {
                return who -> false;
            }
            String value = v.asText();
            return who -> who.inScope(claim, value);
        }

        @Override
        public String toString() {
            return "claim:" + claim + "=" + field;
        }
    }

    /** The document's author (its creator); for resolving, the conflict's author. */
    record Author() implements AccessRule {
        @Override
        public boolean grants(Principal who, DocumentAccess.Subject subject) {
            return subject.author().map(who.user()::equals).orElse(false);
        }

        @Override
        public String toString() {
            return "author";
        }
    }

    /**
     * Parses the configuration form.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    static AccessRule parse(String text) {
        return DocumentAccess.parseRule(text);
    }
}
