package dev.tandem.operations;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.channel.ChannelRules;
import dev.tandem.channel.Namespace;
import dev.tandem.document.DocumentListener;
import dev.tandem.document.Documents;
import dev.tandem.events.CloudEvent;
import dev.tandem.hub.Publication;
import dev.tandem.inbox.AckResult;
import dev.tandem.inbox.Inbox;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.Echo;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * Channels and publishing: what a client publishes (the namespace's rules, then the
 * {@link Hooks#publish} hook), what a service publishes for its tenant (REST) and what arrives as
 * a domain event (Kafka), each checked once here, whatever brought it; a connection's
 * {@link Subscriptions}; inbox acknowledgements. A publication is handed to the broker, which
 * fans it out on every node; the call returns once this node's subscribers have it queued.
 */
public final class Channels {
    /** The most channels one publication may name (a REST publish, a Kafka event). */
    public static final int MAX_CHANNELS_PER_PUBLICATION = 100;

    private final Parts parts;
    private final ChangeStatuses changeStatuses;

    Channels(Parts parts, Optional<Documents> documents, DocumentListener committed) {
        this.parts = parts;
        this.changeStatuses = new ChangeStatuses(parts.rules(), parts.codec(), parts.publisher(), documents, committed);
    }

    /**
     * The subscription state of a new, authenticated connection.
     *
     * @param connectionId the connection's id (presence counts connections by it)
     * @param principal    who it is; replace with {@link Subscriptions#refresh}
     * @param delivery     where its publications go
     * @param max          how many channels it may subscribe to ({@code limit_exceeded} beyond)
     */
    public Subscriptions subscriptions(String connectionId, Principal principal, Delivery delivery, int max) {
        return new Subscriptions(parts, connectionId, principal, delivery, max);
    }

    /**
     * {@code publish} from a client: the namespace's rules, ephemeral-only namespaces, the type,
     * then the {@link Hooks#publish} hook. Answers {@code {channel, eventId, epoch, offset}}.
     */
    public Result publish(Principal who, ClientFrame.Publish p) {
        return parts.answer(who, "publish", () -> {
            ChannelRules rules = parts.rules();
            ChannelKey key = rules.authorize(who, p.channel(), ChannelRules.Action.PUBLISH);
            Namespace ns = rules.namespaceOf(key);
            if (ns.ephemeralOnly() && !p.ephemeral()) {
                throw new ProtocolException(ErrorCode.FORBIDDEN, "clients may only publish ephemeral events to "
                        + ns.name() + ": channels");
            }
            Draft.checkType(p.type());
            Draft draft = parts.hooks().publish(who, key, new Draft(p.type(), p.data(), p.ephemeral(), Optional.empty(),
                    Optional.of(who.user())));
            Publication pub = parts.publisher().publish(key, draft);
            ObjectNode body = parts.codec().object().put("channel", p.channel()).put("eventId", pub.eventId());
            pub.position().ifPresent(pos -> body.put("epoch", pos.epoch()).put("offset", pos.offset()));
            return body;
        });
    }

    /**
     * Publishes for a service (REST) to channels of its tenant; every name is checked before
     * anything is published. Answers {@code {"publications":[{channel, eventId, epoch, offset}]}}.
     */
    public Result servicePublish(Principal service, List<String> channels, String type, JsonNode data,
                                 Optional<String> eventId) {
        try {
            return new Result.Ok(published(publishAll(service.tenant(), channels, type, data, eventId)));
        } catch (RuntimeException e) {
            return Answers.failed(parts.telemetry(), service, "publish", e);
        }
    }

    /** Publishes for a service to {@code user:{user}} (kept in the user's inbox until acknowledged). */
    public Result sendToUser(Principal service, String user, String type, JsonNode data, Optional<String> eventId) {
        return parts.answer(service, "send", () -> {
            if (!ChannelName.isValidId(user)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "invalid user id");
            }
            return published(publishAll(service.tenant(), List.of(Inbox.NAMESPACE + ":" + user), type, data, eventId));
        });
    }

    /**
     * Takes a domain event (Kafka): a backend's answer to a relayed change (type
     * {@value ChangeStatuses#TYPE_PREFIX}{@code confirmed} / {@code rejected}) goes to its
     * author's inbox (and a revert through the versioned path); anything else is published to its
     * channels with its event id, once per channel.
     *
     * @param channels the channels the event names (or its routes give it)
     * @throws ProtocolException {@code BAD_REQUEST}, {@code UNKNOWN_CHANNEL} and the like for an
     *                           event to dead-letter, {@code UNAVAILABLE} for one to retry
     */
    public void ingest(String tenant, List<String> channels, CloudEvent event) {
        if (event.type().startsWith(ChangeStatuses.TYPE_PREFIX)) {
            changeStatuses.handle(tenant, event);
            return;
        }
        if (channels.isEmpty()) {
            throw new ProtocolException(ErrorCode.UNKNOWN_CHANNEL, "unroutable: the event names no channels and no "
                    + "route gives type " + Echo.quoted(event.type()) + " any");
        }
        publishAll(tenant, channels, event.type(), event.data(), Optional.of(event.id()));
    }

    /**
     * Acknowledges inbox messages up to an offset ({@code ack}); with an epoch the inbox no
     * longer has, {@code conflict} and nothing changes. Answers {@code {channel, acknowledged, remaining}}.
     */
    public Result ack(Principal who, ClientFrame.Ack a) {
        return parts.answer(who, "ack", () -> {
            ChannelKey key = parts.rules().authorize(who, a.channel(), ChannelRules.Action.SUBSCRIBE);
            if (!key.namespace().equals(Inbox.NAMESPACE)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "ack is for user: channels (inboxes)");
            }
            Inbox inbox = parts.inbox();
            if (a.epoch().isPresent()) {
                Optional<String> current = inbox.epoch(who.tenant(), key.name().id());
                if (current.isPresent() && !current.get().equals(a.epoch().get())) {
                    throw new ProtocolException(ErrorCode.CONFLICT, "the inbox's history changed (its epoch is no "
                            + "longer the one acknowledged); nothing was acknowledged: resubscribe to " + a.channel());
                }
            }
            AckResult r = inbox.ack(who.tenant(), key.name().id(), a.offset());
            return parts.codec().object().put("channel", a.channel()).put("acknowledged", r.acknowledged())
                    .put("remaining", r.remaining());
        });
    }

    /**
     * Publishes to each distinct channel once, all names checked first: at least one, at most
     * {@value #MAX_CHANNELS_PER_PUBLICATION}, each valid in the tenant.
     */
    private List<Publication> publishAll(String tenant, List<String> channels, String type, JsonNode data,
                                         Optional<String> eventId) {
        if (channels.isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "no channel given");
        }
        if (channels.size() > MAX_CHANNELS_PER_PUBLICATION) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, channels.size() + " channels named; at most "
                    + MAX_CHANNELS_PER_PUBLICATION + " per publication");
        }
        Draft.checkType(type);
        List<ChannelKey> keys = new ArrayList<>();
        for (String c : new LinkedHashSet<>(channels)) {
            keys.add(parts.rules().resolve(tenant, c));
        }
        List<Publication> result = new ArrayList<>(keys.size());
        for (ChannelKey key : keys) {
            result.add(parts.publisher().publish(key, new Draft(type, data, false, eventId, Optional.empty())));
        }
        return result;
    }

    private ObjectNode published(List<Publication> publications) {
        ObjectNode answer = parts.codec().object();
        ArrayNode list = answer.putArray("publications");
        for (Publication p : publications) {
            ObjectNode o = list.addObject().put("channel", p.channel().name().toString()).put("eventId", p.eventId());
            p.position().ifPresent(pos -> o.put("epoch", pos.epoch()).put("offset", pos.offset()));
        }
        return answer;
    }
}
