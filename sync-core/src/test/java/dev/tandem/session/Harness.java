package dev.tandem.session;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Broker;
import dev.tandem.broker.MemoryBroker;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelRules;
import dev.tandem.hub.Hub;
import dev.tandem.operations.Operations;
import dev.tandem.operations.Result;
import dev.tandem.presence.MemoryPresenceStore;
import dev.tandem.presence.PresenceStore;
import dev.tandem.protocol.ClientFrame;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ServerFrame;
import dev.tandem.telemetry.Telemetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** An engine and its operations on a memory broker with the fake verifier, and clients on test transports. */
final class Harness implements AutoCloseable {
    final FrameCodec codec = FrameCodec.create();
    final ChannelRules rules;
    final Hub hub = new Hub(codec, Telemetry.NOOP);
    final MemoryBroker memory;
    final Operations ops;
    final Engine engine;
    private final List<TestTransport> transports = new CopyOnWriteArrayList<>();

    Harness(SessionLimits limits) {
        this(limits, b -> b);
    }

    Harness(SessionLimits limits, UnaryOperator<Broker> wrap) {
        this(limits, wrap, ChannelRules.create());
    }

    Harness(SessionLimits limits, ChannelRules rules) {
        this(limits, b -> b, rules);
    }

    Harness(SessionLimits limits, UnaryOperator<Broker> wrap, ChannelRules rules) {
        this(limits, wrap, rules, MemoryPresenceStore.create());
    }

    Harness(SessionLimits limits, UnaryOperator<Broker> wrap, ChannelRules rules, PresenceStore presence) {
        this.rules = rules;
        this.memory = new MemoryBroker(hub, rules, Telemetry.NOOP, Clock.systemUTC());
        ops = Operations.builder()
                .codec(codec)
                .rules(rules)
                .broker(wrap.apply(memory))
                .presence(presence)
                .verifier(new FakeVerifier())
                .build();
        engine = Engine.builder()
                .nodeId("node-test")
                .codec(codec)
                .operations(ops)
                .rules(rules)
                .limits(limits)
                .build();
    }

    /** A service of the tenant (acts for it, as the REST API does). */
    static Principal service(String tenant) {
        return new Principal(tenant, "backend", java.util.Set.of("service"), java.util.Map.of(), Optional.empty());
    }

    /** Publishes as a service; fails the test when refused. Answers the publications' JSON. */
    ObjectNode publish(String tenant, String channel, String type, JsonNode data) {
        Result r = ops.channels().servicePublish(service(tenant), List.of(channel), type, data, Optional.empty());
        if (r instanceof Result.Ok ok) {
            return ok.body();
        }
        throw new AssertionError("publish refused: " + r);
    }

    /** Limits: the defaults, changed by the given setter calls. */
    static Limits limits() {
        return new Limits();
    }

    /** Opens a connection without an upgrade token. */
    Client open() {
        return open(Optional.empty());
    }

    /** Opens a connection with an upgrade token and takes the welcome. */
    Client connected(String token) {
        Client c = open(Optional.of(token));
        c.t.next(ServerFrame.Welcome.class);
        return c;
    }

    Client open(Optional<String> upgradeToken) {
        TestTransport t = new TestTransport(codec);
        transports.add(t);
        Session s = engine.open(t, upgradeToken);
        return new Client(t, s);
    }

    ChannelKey key(String tenant, String channel) {
        return rules.resolve(tenant, channel);
    }

    /** Waits for a condition that other threads make true. */
    static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TestTransport.WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting until " + what);
            }
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    @Override
    public void close() {
        engine.close();
        ops.close();
        List<String> violations = new ArrayList<>();
        for (TestTransport t : transports) {
            violations.addAll(t.violations());
        }
        assertEquals(List.of(), violations, "transport contract");
    }

    /** One connection: its transport and session. */
    final class Client {
        final TestTransport t;
        final Session session;
        private long nextSyncId = 1_000_000;

        Client(TestTransport t, Session session) {
            this.t = t;
            this.session = session;
        }

        void send(String json) {
            session.receive(json);
        }

        void send(ClientFrame frame) {
            session.receive(codec.encode(frame));
        }

        /**
         * Sends a ping with a fresh id and returns every frame written before its reply: since the
         * writer is first in first out, that is everything queued up to now.
         */
        List<ServerFrame> sync() {
            long id = nextSyncId++;
            send(new ClientFrame.Ping(id));
            List<ServerFrame> before = new ArrayList<>();
            while (true) {
                ServerFrame f = t.next();
                if (f instanceof ServerFrame.Reply r && r.id() == id) {
                    return before;
                }
                before.add(f);
            }
        }
    }

    /** Session limits for a test. */
    static final class Limits {
        int maxFrameBytes = SessionLimits.DEFAULTS.maxFrameBytes();
        int messagesPerSecond = SessionLimits.DEFAULTS.messagesPerSecond();
        int burst = SessionLimits.DEFAULTS.burst();
        int floodStrikes = SessionLimits.DEFAULTS.floodStrikes();
        int maxSubscriptions = SessionLimits.DEFAULTS.maxSubscriptions();
        int outboundQueueMessages = SessionLimits.DEFAULTS.outboundQueueMessages();
        long outboundQueueBytes = SessionLimits.DEFAULTS.outboundQueueBytes();
        Duration authTimeout = SessionLimits.DEFAULTS.authTimeout();
        Duration heartbeatInterval = SessionLimits.DEFAULTS.heartbeatInterval();
        Duration heartbeatTimeout = SessionLimits.DEFAULTS.heartbeatTimeout();
        Duration writeTimeout = SessionLimits.DEFAULTS.writeTimeout();

        Limits maxFrameBytes(int v) {
            maxFrameBytes = v;
            return this;
        }

        Limits rate(int perSecond, int burst, int floodStrikes) {
            this.messagesPerSecond = perSecond;
            this.burst = burst;
            this.floodStrikes = floodStrikes;
            return this;
        }

        Limits maxSubscriptions(int v) {
            maxSubscriptions = v;
            return this;
        }

        Limits outboundQueueMessages(int v) {
            outboundQueueMessages = v;
            return this;
        }

        Limits authTimeout(Duration v) {
            authTimeout = v;
            return this;
        }

        Limits heartbeat(Duration interval, Duration timeout) {
            heartbeatInterval = interval;
            heartbeatTimeout = timeout;
            return this;
        }

        Limits writeTimeout(Duration v) {
            writeTimeout = v;
            return this;
        }

        SessionLimits build() {
            return new SessionLimits(maxFrameBytes, messagesPerSecond, burst, floodStrikes, maxSubscriptions,
                    outboundQueueMessages, outboundQueueBytes, authTimeout, heartbeatInterval, heartbeatTimeout,
                    writeTimeout, 10);
        }
    }
}
