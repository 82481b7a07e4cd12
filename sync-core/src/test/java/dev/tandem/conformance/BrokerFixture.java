package dev.tandem.conformance;

import dev.tandem.broker.Broker;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.conformance.BrokerConformanceTest.Recorder;
import dev.tandem.protocol.FrameCodec;

/**
 * What the broker contracts ask of the test they run in: {@link BrokerConformanceTest} sets it
 * up for each test (a broker of the adapter, a tenant of the test's own) and implements it.
 */
interface BrokerFixture {
    /** The broker under test. */
    Broker broker();

    /** The codec the hub encodes with. */
    FrameCodec codec();

    /** The rules of the suite. */
    ChannelRules rules();

    /** The channel {@code name} in this test's tenant. */
    ChannelKey key(String name);

    /** A durable draft with {@code {"field": value}} as data. */
    Draft draft(String field, int value);

    /** Subscribes a new recorder without a position. */
    Recorder subscribeLive(ChannelKey channel);

    /** A new recorder, not subscribed. */
    Recorder newRecorder();
}
