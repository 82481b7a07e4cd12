/**
 * The wire contract of Tandem and the Java client: the {@code tandem.v1} frames and their codec,
 * error and close codes ({@code dev.tandem.protocol}), the CloudEvents codec for Kafka
 * ({@code dev.tandem.events}), the fossil delta codec ({@code dev.tandem.delta}) and the Java
 * client ({@code dev.tandem.client}). The AsyncAPI and OpenAPI documents ship as resources.
 */
module dev.tandem.contract {
    requires transitive com.fasterxml.jackson.databind;
    requires java.net.http;

    exports dev.tandem.protocol;
    exports dev.tandem.events;
    exports dev.tandem.delta;
    exports dev.tandem.client;
}
