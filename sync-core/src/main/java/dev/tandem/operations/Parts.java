package dev.tandem.operations;

import java.util.Optional;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Broker;
import dev.tandem.channel.ChannelRules;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.Telemetry;

/**
 * What the concepts of the layer share, wired once by {@link Operations}: the ports they call,
 * the codec and telemetry, the backend's hooks, the publisher, presence, the per-user channel
 * count, the documents (when enabled) and the background work.
 */
record Parts(ChannelRules rules, Broker broker, Inbox inbox, FrameCodec codec, Telemetry telemetry, Hooks hooks,
             Background background, Publisher publisher, Presences presences, UserChannels userChannels,
             Optional<DocumentOps> documents) {

    /** The documents, or {@code unavailable} when this node has none. */
    DocumentOps docs() {
        return documents.orElseThrow(() -> new ProtocolException(ErrorCode.UNAVAILABLE,
                "documents are not enabled on this node"));
    }

    /** Runs an operation as {@link Answers#answer} does. */
    Result answer(Principal who, String op, Supplier<ObjectNode> work) {
        return Answers.answer(telemetry, who, op, work);
    }
}
