package dev.tandem.channel;

import java.util.Locale;

import dev.tandem.auth.Principal;

/**
 * Who may do something on the channels of a namespace, written in configuration as
 * {@code any}, {@code none}, {@code self}, {@code claim:NAME} or {@code role:NAME}.
 */
public sealed interface Access {

    /** Whether {@code principal} may act on the channel with id {@code name}. */
    boolean allows(Principal principal, ChannelName name);

    /** Every authenticated principal of the tenant. */
    record Any() implements Access {
        @Override
        public boolean allows(Principal principal, ChannelName name) {
            return true;
        }

        @Override
        public String toString() {
            return "any";
        }
    }

    /** Nobody (services through the REST API still may publish). */
    record None() implements Access {
        @Override
        public boolean allows(Principal principal, ChannelName name) {
            return false;
        }

        @Override
        public String toString() {
            return "none";
        }
    }

    /** Only the user the channel is named after ({@code user:{id}}). */
    record Self() implements Access {
        @Override
        public boolean allows(Principal principal, ChannelName name) {
            return name.id().equals(principal.user());
        }

        @Override
        public String toString() {
            return "self";
        }
    }

    /** Principals whose scope claim lists the channel's id, or {@code *}. */
    record Claim(String claim) implements Access {
        @Override
        public boolean allows(Principal principal, ChannelName name) {
            return principal.inScope(claim, name.id());
        }

        @Override
        public String toString() {
            return "claim:" + claim;
        }
    }

    /** Principals with the role. */
    record Role(String role) implements Access {
        @Override
        public boolean allows(Principal principal, ChannelName name) {
            return principal.hasRole(role);
        }

        @Override
        public String toString() {
            return "role:" + role;
        }
    }

    /**
     * Parses the configuration form.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    static Access parse(String text) {
        String t = text.trim();
        String lower = t.toLowerCase(Locale.ROOT);
        if (lower.equals("any")) {
            return new Any();
        }
        if (lower.equals("none")) {
            return new None();
        }
        if (lower.equals("self")) {
            return new Self();
        }
        if (lower.startsWith("claim:") && t.length() > 6) {
            return new Claim(t.substring(6));
        }
        if (lower.startsWith("role:") && t.length() > 5) {
            return new Role(t.substring(5));
        }
        throw new IllegalArgumentException("access rule '" + text
                + "' is not one of any, none, self, claim:NAME, role:NAME");
    }
}
