package dev.tandem.document;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

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
 * @param channels   where to publish it: {@code doc:{type}:{id}} first, then the type's
 *                   configured channels that the data names (e.g. {@code location:wh-7})
 */
public record DocumentChange(String tenant, Document document, Kind kind, Optional<String> opId,
                             Optional<String> conflictId, List<String> fields, Optional<Strategy> strategy,
                             List<ChannelName> channels) {
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
