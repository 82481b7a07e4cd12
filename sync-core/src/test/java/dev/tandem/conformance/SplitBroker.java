package dev.tandem.conformance;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.broker.Recovery;
import java.util.Optional;
import java.util.function.Consumer;

import dev.tandem.channel.ChannelKey;
import dev.tandem.hub.Publication;
import dev.tandem.hub.Subscriber;
import dev.tandem.protocol.Position;

/**
 * Two nodes of one cluster as one {@link Broker}: every publication goes through one node,
 * every subscription, recovery and top is asked of the other. Running the conformance suite
 * on it makes each case hold across nodes. Shared through the test-jar.
 *
 * @param subscribing the node clients are connected to
 * @param publishing  the node publications are made on
 */
public record SplitBroker(Broker subscribing, Broker publishing) implements Broker {
    @Override
    public Publication publish(ChannelKey channel, Draft draft) {
        return publishing.publish(channel, draft);
    }

    @Override
    public Recovery subscribe(ChannelKey channel, Subscriber subscriber, Optional<Position> since,
                              Consumer<Recovery> beforeLive) {
        return subscribing.subscribe(channel, subscriber, since, beforeLive);
    }

    @Override
    public void unsubscribe(ChannelKey channel, Subscriber subscriber) {
        subscribing.unsubscribe(channel, subscriber);
    }

    @Override
    public Position top(ChannelKey channel) {
        return subscribing.top(channel);
    }

    @Override
    public boolean delivering() {
        return subscribing.delivering() && publishing.delivering();
    }

    @Override
    public void close() {
        subscribing.close();
        publishing.close();
    }
}
