/**
 * The Tandem gateway: a Helidon SE 4 application that terminates WebSockets, Server-Sent Events
 * streams and the REST service API, verifies tokens, and hands every operation to the engine
 * (each transport only translates). It is the composition root: it builds the ports' adapters
 * from configuration (memory standalone; Redis, PostgreSQL and Kafka in cluster mode) and closes
 * them. {@code dev.tandem.gateway} is exported for the launcher ({@code Main}) and for tools that
 * mint development tokens ({@code DevTokens}); nothing else is API.
 */
module dev.tandem.gateway {
    requires dev.tandem.core;
    requires dev.tandem.conflict;
    requires dev.tandem.queue;
    requires dev.tandem.presence;
    requires io.helidon.common;
    requires io.helidon.common.buffers;
    requires io.helidon.common.media.type;
    requires io.helidon.config;
    requires io.helidon.config.yaml;
    requires io.helidon.health;
    requires io.helidon.health.checks;
    requires io.helidon.http;
    requires io.helidon.logging.common;
    requires io.helidon.metrics.api;
    requires io.helidon.security.jwt;
    requires io.helidon.webserver;
    requires io.helidon.webserver.observe;
    requires io.helidon.webserver.observe.health;
    requires io.helidon.webserver.observe.metrics;
    requires io.helidon.webserver.websocket;
    requires io.helidon.websocket;
    requires jakarta.json;
    requires java.logging;
    requires java.net.http;

    exports dev.tandem.gateway;
}
