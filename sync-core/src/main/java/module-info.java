/**
 * The engine of Tandem: the connection runtime every transport drives ({@code dev.tandem.session}),
 * the operations by concept ({@code dev.tandem.operations}), channels and the fan-out hub, and the
 * ports with their in-memory adapters (broker, presence, inbox, documents, revocations). The
 * Kafka, HTTP-hook and push adapters sit in packages of their own; Redis and database adapters
 * live in the queue, presence and conflict modules and depend on these ports.
 */
module dev.tandem.core {
    requires transitive dev.tandem.protocol;
    requires transitive io.helidon.config;
    requires java.net.http;
    requires kafka.clients;

    exports dev.tandem.auth;
    exports dev.tandem.broker;
    exports dev.tandem.channel;
    exports dev.tandem.document;
    exports dev.tandem.hooks;
    exports dev.tandem.hub;
    exports dev.tandem.inbox;
    exports dev.tandem.kafka;
    exports dev.tandem.operations;
    exports dev.tandem.presence;
    exports dev.tandem.push;
    exports dev.tandem.push.apns;
    exports dev.tandem.push.fcm;
    exports dev.tandem.push.webpush;
    exports dev.tandem.session;
    exports dev.tandem.telemetry;
}
