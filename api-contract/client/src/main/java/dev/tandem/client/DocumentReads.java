package dev.tandem.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.Position;

/**
 * The reading half of {@link Documents}: {@code doc.get} and {@code doc.query} with their
 * replies checked, and the newest version of each document this client has seen (replies,
 * snapshots, events), which new edits are based on. Thread-safe.
 */
final class DocumentReads {
    private final Documents.Link link;
    private final Map<String, Long> versions = new ConcurrentHashMap<>();

    DocumentReads(Documents.Link link) {
        this.link = link;
    }

    /** See {@link Documents#get}. */
    CompletableFuture<Optional<Doc>> get(String docType, String docId) {
        return link.request(id -> new ClientFrame.DocGet(id, docType, docId), Duration.ZERO)
                .handle((reply, e) -> {
                    if (e != null) {
                        Throwable cause = Documents.unwrap(e);
                        if (cause instanceof TandemClientException t && t.code().equals(Optional.of(ErrorCode.NOT_FOUND))) {
                            return Optional.<Doc>empty();
                        }
                        throw Documents.propagate(cause);
                    }
                    Doc doc = Doc.from(reply.body().get("document")).orElseThrow(() ->
                            new TandemClientException(ErrorCode.BAD_REQUEST, "doc.get reply without a document"));
                    saw(doc.docType(), doc.docId(), doc.version());
                    return Optional.of(doc);
                });
    }

    /** See {@link Documents#query}. */
    CompletableFuture<QueryPage> query(String docType, String field, JsonNode value, int limit, Optional<String> after) {
        return link.request(id -> new ClientFrame.DocQuery(id, docType, field, value, limit, after), Duration.ZERO)
                .thenApply(reply -> {
                    ObjectNode body = reply.body();
                    JsonNode list = body.path("documents");
                    JsonNode channel = body.path("channel");
                    boolean hasChannel = channel.isTextual();
                    if (!list.isArray() || hasChannel && (!body.path("epoch").isTextual()
                            || !body.path("offset").canConvertToLong())) {
                        throw new TandemClientException(ErrorCode.BAD_REQUEST,
                                "doc.query reply without documents, or a channel without its position");
                    }
                    List<Doc> docs = new ArrayList<>();
                    list.forEach(d -> Doc.from(d).ifPresent(doc -> {
                        docs.add(doc);
                        saw(doc.docType(), doc.docId(), doc.version());
                    }));
                    return new QueryPage(docType, docs,
                            body.path("next").isTextual() ? Optional.of(body.get("next").textValue()) : Optional.empty(),
                            hasChannel ? Optional.of(channel.textValue()) : Optional.empty(),
                            hasChannel ? Optional.of(new Position(body.get("epoch").textValue(),
                                    body.get("offset").asLong())) : Optional.empty());
                });
    }

    /** The newest version of the document seen, if any. */
    OptionalLong version(String docType, String docId) {
        Long v = versions.get(key(docType, docId));
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** Records a version seen. */
    void saw(String docType, String docId, long version) {
        versions.merge(key(docType, docId), version, Math::max);
    }

    private static String key(String docType, String docId) {
        return docType + '\u0000' + docId;
    }
}
