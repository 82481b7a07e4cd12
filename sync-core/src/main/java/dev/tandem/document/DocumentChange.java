package dev.tandem.document;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.channel.ChannelName;

/**
 * A committed change of a document, handed to {@link DocumentListener}s after the commit.
 *
 * @param tenant     the tenant
 * @param document   the new version
 * @param kind       what made it
 * @param opId       the operation, for applied and merged changes
 * @param conflictId the resolved conflict, for resolutions
 * @param fields     the overlapping fields of a merge or a resolution
 * @param strategy   the strategy of a merge
 * @param channels    where to publish it: {@code doc:{type}:{id}} first, then the type's
 *                    configured channels that the data names (e.g. {@code location:wh-7})
 * @param overwritten the users whose stored values a concurrent change replaced by the
 *                    type's last-write-wins or client-wins strategy (never the change's author)
 * @param previous    the live data just before the change (empty when there was no live
 *                    document): a deletion is told only to those who could read it
 */
public record DocumentChange(String tenant, Document document, Kind kind, Optional<String> opId,
                             Optional<String> conflictId, List<String> fields, Optional<Strategy> strategy,
                             List<ChannelName> channels, List<Overwrite> overwritten,
                             Optional<JsonNode> previous) {
    /** Validates and copies the fields. */
    public DocumentChange {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(document, "document");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(opId, "opId");
        Objects.requireNonNull(conflictId, "conflictId");
        fields = List.copyOf(fields);
        Objects.requireNonNull(strategy, "strategy");
        channels = List.copyOf(channels);
        overwritten = List.copyOf(overwritten);
        Objects.requireNonNull(previous, "previous");
    }

    /**
     * Values of one user that a concurrent change overwrote.
     *
     * @param user    whose values were lost (who wrote them last)
     * @param fields  the fields, sorted
     * @param lost    their values before the change (absent: the field did not exist)
     * @param winning the values the change wrote (absent: the change removed the field)
     */
    public record Overwrite(String user, List<String> fields, com.fasterxml.jackson.databind.node.ObjectNode lost,
                            com.fasterxml.jackson.databind.node.ObjectNode winning) {
        /** Validates and copies the fields. */
        public Overwrite {
            Objects.requireNonNull(user, "user");
            fields = List.copyOf(fields);
            Objects.requireNonNull(lost, "lost");
            Objects.requireNonNull(winning, "winning");
        }
    }

    /** What made a change. */
    public enum Kind {
        /** An operation applied at its base version. */
        APPLIED,
        /** An operation merged by the type's policy. */
        MERGED,
        /** A manual conflict resolution. */
        RESOLVED
    }

    /** The event type to publish under: {@code doc.changed}, or {@code doc.deleted} for a tombstone. */
    public String eventType() {
        return document.deleted() ? "doc.deleted" : "doc.changed";
    }
}
