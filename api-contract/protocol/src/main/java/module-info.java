/**
 * The wire contract of Tandem: the {@code tandem.v1} frames and their codec, error and close
 * codes ({@code dev.tandem.protocol}), the CloudEvents codec for Kafka ({@code dev.tandem.events})
 * and the fossil delta codec ({@code dev.tandem.delta}). The AsyncAPI and OpenAPI documents ship
 * as resources.
 */
module dev.tandem.protocol {
    requires transitive com.fasterxml.jackson.databind;

    exports dev.tandem.protocol;
    exports dev.tandem.events;
    exports dev.tandem.delta;
}
