package dev.tandem.document;

import java.util.Objects;

import dev.tandem.channel.ChannelName;

/**
 * Names a document within a tenant: its type (which selects the policy) and its id.
 *
 * <p>Both are channel id segments (1-128 of {@code A-Z a-z 0-9 _ . @ ~ -}), so every document
 * has a channel {@code doc:{type}:{id}}.
 *
 * @param type the document type, e.g. {@code stock_level}
 * @param id   the document id, e.g. {@code A-1@wh-7}
 */
public record DocRef(String type, String id) {
    /** Validates the fields. */
    public DocRef {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(id, "id");
        if (!ChannelName.isValidId(type)) {
            throw new IllegalArgumentException("invalid document type");
        }
        if (!ChannelName.isValidId(id)) {
            throw new IllegalArgumentException("invalid document id");
        }
    }

    /** Whether {@code type} and {@code id} would make a valid reference. */
    public static boolean isValid(String type, String id) {
        return type != null && id != null && ChannelName.isValidId(type) && ChannelName.isValidId(id);
    }

    /** The document's own channel, {@code doc:{type}:{id}}. */
    public ChannelName channel() {
        return ChannelName.parse("doc:" + type + ":" + id).orElseThrow();
    }

    @Override
    public String toString() {
        return type + ":" + id;
    }
}
