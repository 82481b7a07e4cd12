package dev.tandem.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.protocol.Position;

/**
 * One page of {@link Documents#query}: documents of a type whose field equals a value, with
 * the position of the channel they publish to, read just before the page ("load, then follow").
 *
 * @param docType   the document type
 * @param documents the page, ordered by id
 * @param next      the cursor of the next page; empty on the last one
 * @param channel   the channel the matching documents publish their changes to, if any
 * @param position  that channel's position (present exactly when the channel is)
 */
public record QueryPage(String docType, List<Doc> documents, Optional<String> next, Optional<String> channel,
                        Optional<Position> position) {
    /** Validates and copies. */
    public QueryPage {
        Objects.requireNonNull(docType, "docType");
        documents = List.copyOf(documents);
        Objects.requireNonNull(next, "next");
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(position, "position");
    }
}
