package dev.tandem.conflict;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.channel.ChannelName;
import dev.tandem.document.Strategy;

/**
 * How documents of one type are reconciled.
 *
 * @param merge      whether disjoint fields of concurrent changes merge; off, any concurrent
 *                   change makes every field of the operation overlap (counters still commute)
 * @param strategy   how overlapping fields are decided (never {@link Strategy#MERGE})
 * @param counters   fields whose {@code inc} deltas always commute
 * @param invariants rules the resulting data must keep
 * @param channels   channel templates to publish to besides {@code doc:{type}:{id}}, with
 *                   {@code {field}} taken from the data
 */
record Policy(boolean merge, Strategy strategy, Set<String> counters, List<Invariant> invariants, List<String> channels) {
    /** The built-in policy of types nobody configured: merge, last write wins, no counters. */
    static final Policy DEFAULT = new Policy(true, Strategy.LAST_WRITE_WINS, Set.of(), List.of(), List.of());

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]+)}");

    Policy {
        Objects.requireNonNull(strategy, "strategy");
        if (strategy == Strategy.MERGE) {
            throw new IllegalArgumentException("'merge' is not an overlap strategy; use merge: true|false");
        }
        counters = Set.copyOf(counters);
        invariants = List.copyOf(invariants);
        channels = List.copyOf(channels);
        for (String template : channels) {
            String probe = PLACEHOLDER.matcher(template).replaceAll("x");
            if (ChannelName.parse(probe).isEmpty()) {
                throw new IllegalArgumentException("channel template '" + template + "' does not make a channel name");
            }
        }
    }

    /** The first invariant {@code data} breaks, as a reason. */
    Optional<String> violation(ObjectNode data) {
        for (Invariant i : invariants) {
            Optional<String> why = i.check(data);
            if (why.isPresent()) {
                return why;
            }
        }
        return Optional.empty();
    }

    /**
     * The configured channels for a version's data; a template whose field is absent or not a
     * valid id is skipped (the document's own channel always gets the change).
     */
    List<ChannelName> channelsFor(JsonNode data) {
        List<ChannelName> result = new ArrayList<>();
        for (String template : channels) {
            Matcher m = PLACEHOLDER.matcher(template);
            StringBuilder sb = new StringBuilder();
            boolean ok = true;
            while (m.find()) {
                JsonNode v = data.get(m.group(1));
                String text = v == null || !(v.isTextual() || v.isIntegralNumber()) ? null : v.asText();
                if (text == null || !ChannelName.isValidId(text)) {
                    ok = false;
                    break;
                }
                m.appendReplacement(sb, Matcher.quoteReplacement(text));
            }
            if (ok) {
                m.appendTail(sb);
                ChannelName.parse(sb.toString()).ifPresent(result::add);
            }
        }
        return result;
    }
}
