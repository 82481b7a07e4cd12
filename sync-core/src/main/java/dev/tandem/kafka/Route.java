package dev.tandem.kafka;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.events.CloudEvent;

/**
 * A routing rule for inbound events that name no {@code channels}: events whose type matches
 * {@code type} (a glob: {@code stock.*}) go to the channel templates, whose placeholders
 * {@code {data.a.b}}, {@code {subject}}, {@code {type}} and {@code {ext.NAME}} are filled from
 * the event. A template whose placeholder is missing in an event yields no channel.
 *
 * @param type      the type glob
 * @param templates channel name templates, e.g. {@code location:{data.locationId}}
 */
public record Route(String type, List<String> templates) {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z0-9_.]+)}");

    /** Copies the templates. */
    public Route {
        templates = List.copyOf(templates);
    }

    boolean matches(String eventType) {
        String regex = Pattern.quote(type).replace("*", "\\E.*\\Q");
        return eventType.matches(regex);
    }

    List<String> channels(CloudEvent event) {
        List<String> result = new ArrayList<>();
        for (String template : templates) {
            fill(template, event).ifPresent(result::add);
        }
        return result;
    }

    private static Optional<String> fill(String template, CloudEvent event) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            Optional<String> value = value(m.group(1), event);
            if (value.isEmpty()) {
                return Optional.empty();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value.get()));
        }
        m.appendTail(out);
        return Optional.of(out.toString());
    }

    private static Optional<String> value(String path, CloudEvent event) {
        if (path.equals("subject")) {
            return event.subject();
        }
        if (path.equals("type")) {
            return Optional.of(event.type());
        }
        if (path.startsWith("ext.")) {
            return Optional.ofNullable(event.extensions().get(path.substring(4)));
        }
        if (path.startsWith("data.")) {
            JsonNode node = event.data();
            for (String part : path.substring(5).split("\\.")) {
                node = node == null ? null : node.get(part);
            }
            return node != null && node.isValueNode() && !node.isNull() ? Optional.of(node.asText()) : Optional.empty();
        }
        return Optional.empty();
    }
}
