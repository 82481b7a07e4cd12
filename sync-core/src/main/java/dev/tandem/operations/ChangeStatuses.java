package dev.tandem.operations;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelRules;
import dev.tandem.document.DocRef;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.document.OpResult;
import dev.tandem.document.Rejection;
import dev.tandem.document.Written;
import dev.tandem.events.CloudEvent;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;

/**
 * A backend's answer to a change Tandem relayed to Kafka ({@code tandem.change.confirmed} or
 * {@code tandem.change.rejected}, whose data names {@code author}, {@code docType},
 * {@code docId}, {@code version} and {@code opId}, copied from the change, plus {@code reason}
 * and, to undo a rejected change, {@code revert: true}). The author's devices get a durable
 * {@code change.confirmed} / {@code change.rejected} event on {@code user:{author}} (kept in the
 * inbox until acknowledged); a revert goes through the normal versioned path, so every
 * subscriber of the document sees it as a new version. A rejection is then told to the document
 * listeners ({@link DocumentListener#rejected}), which may push it.
 */
final class ChangeStatuses {
    /**
     * Type prefix of backends' answers to relayed changes ({@code tandem.change.confirmed},
     * {@code tandem.change.rejected}); they need no channels: they go to the change's author.
     */
    static final String TYPE_PREFIX = "tandem.change.";

    private final ChannelRules rules;
    private final FrameCodec codec;
    private final Publisher publisher;
    private final Optional<Documents> documents;
    private final DocumentListener committed;

    ChangeStatuses(ChannelRules rules, FrameCodec codec, Publisher publisher, Optional<Documents> documents,
                   DocumentListener committed) {
        this.rules = rules;
        this.codec = codec;
        this.publisher = publisher;
        this.documents = documents;
        this.committed = committed;
    }

    /**
     * Handles one answer.
     *
     * @throws ProtocolException {@code BAD_REQUEST} for a malformed answer (dead-lettered)
     */
    void handle(String tenant, CloudEvent event) {
        String status = event.type().substring(TYPE_PREFIX.length());
        if (!status.equals("confirmed") && !status.equals("rejected")) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "unknown change status " + event.type()
                    + " (tandem.change.confirmed or tandem.change.rejected)");
        }
        JsonNode d = event.data();
        String author = text(d, "author");
        String docType = text(d, "docType");
        String docId = text(d, "docId");
        String opId = text(d, "opId");
        if (!DocRef.isValid(docType, docId)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status names an invalid docType or docId");
        }
        if (!d.path("version").canConvertToLong()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status needs data.version");
        }
        long version = d.path("version").asLong();
        ObjectNode body = codec.object().put("status", status).put("docType", docType).put("docId", docId)
                .put("version", version).put("opId", opId).put("by", event.source());
        if (d.hasNonNull("reason")) {
            body.put("reason", d.get("reason").asText());
        }
        Optional<Written<OpResult>> reverted = Optional.empty();
        if (status.equals("rejected") && d.path("revert").asBoolean(false)) {
            Documents store = documents.orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                    "documents are not enabled on this node"));
            Principal system = new Principal(tenant, "tandem", Set.of(), Map.of(), Optional.empty());
            reverted = Optional.of(store.revert(system, new DocRef(docType, docId), version, "revert:" + opId));
            body.set("revert", reverted.get().value().toJson());
        }
        publisher.publish(rules.resolve(tenant, Inbox.NAMESPACE + ":" + author),
                new Draft("change." + status, body, false, Optional.of(event.id()), Optional.empty()));
        reverted.ifPresent(w -> w.tell(committed));
        if (status.equals("rejected")) {
            committed.rejected(new Rejection(tenant, author, new DocRef(docType, docId), version, opId,
                    Optional.ofNullable(d.get("reason")).filter(r -> !r.isNull()).map(JsonNode::asText),
                    reverted.map(Written::value)));
        }
    }

    private static String text(JsonNode data, String field) {
        JsonNode v = data.get(field);
        if (v == null || !v.isTextual() || v.textValue().isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "change status needs data." + field);
        }
        return v.textValue();
    }
}
